package io.countersign.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.cli.CliFixture.Run;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Countersign's exports, proofs and evidence checked by a second implementation of RFC 9162 and
 * C2SP signed notes, written in JavaScript from the specifications alone
 * (interop/ledger-verify/verify.mjs), run with a real Node.js.
 */
class IndependentVerifierTest {
    static final Path VERIFIER =
            Path.of("..", "interop", "ledger-verify", "verify.mjs").toAbsolutePath();

    @TempDir
    Path dir;

    CliFixture cs;
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() {
        cs = new CliFixture(dir.resolve("data"));
    }

    @AfterEach
    void stop() {
        cs.close();
    }

    record Result(int exit, String out) {}

    static Result node(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(nodeBinary(), VERIFIER.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("node finished").isTrue();
        return new Result(p.exitValue(), out);
    }

    static String nodeBinary() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, "node")))
                return Path.of(dir, "node").toString();
        }
        throw new AssertionError("this test runs the independent verifier with Node.js 20 or later, which is not on"
                + " the PATH: install it (Debian/Ubuntu: apt-get install nodejs) and run the tests again");
    }

    String get(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cs.port() + path))
                        .header("Authorization", "Bearer " + cs.key("bob"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return r.body();
    }

    String approvedExport() {
        Run r = cs.as(
                "deploy-bot",
                "request",
                "--type",
                "db.export",
                "--param",
                "table=customers",
                "--resource",
                "table:customers",
                "--env",
                "prod",
                "--tag",
                "pii",
                "--justification",
                "churn",
                "--json");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        String id = r.json().path("id").asText();
        assertThat(cs.as("bob", "review", id, "--approve", "--reason", "ok").exitCode())
                .isZero();
        assertThat(cs.as("carol", "review", id, "--approve", "--reason", "ok").exitCode())
                .isZero();
        return id;
    }

    @Test
    void theIndependentVerifierPassesTheConformanceVectors() throws Exception {
        Result r = node(
                "vectors",
                Path.of("..", "ledger", "src", "test", "resources", "merkle").toString());
        assertThat(r.exit()).as(r.out()).isZero();
        assertThat(r.out()).contains("196 vectors agree");
    }

    @Test
    void itAcceptsOurExportAndRefusesItTampered() throws Exception {
        approvedExport();
        String older = get("/v1/requests/" + approvedExport() + "/evidence");
        Path kept = dir.resolve("kept");
        Files.writeString(
                kept,
                io.countersign.core.json.Json.mapper()
                        .readTree(older)
                        .get("checkpoint")
                        .asText());
        approvedExport();
        Path export = dir.resolve("export");
        assertThat(cs.as("bob", "ledger", "export", "--out", export.toString()).exitCode())
                .isZero();
        String key = Files.readString(export.resolve("key")).strip();

        Result ok = node("export", export.toString(), "--key", key, "--previous", kept.toString());
        assertThat(ok.exit()).as(ok.out()).isZero();
        assertThat(ok.out()).startsWith("OK: ");
        Result unpinned = node("export", export.toString());
        assertThat(unpinned.exit()).as(unpinned.out()).isZero();
        assertThat(unpinned.out())
                .startsWith("note: trusting the key in the export (" + key + ")")
                .contains("\nOK: ");

        List<String> lines = new ArrayList<>(Files.readAllLines(export.resolve("entries.jsonl")));
        lines.set(3, lines.get(3).replace("\"actor\":\"", "\"actor\":\"x"));
        Files.writeString(export.resolve("entries.jsonl"), String.join("\n", lines) + "\n");
        Result bad = node("export", export.toString(), "--key", key);
        assertThat(bad.exit()).as(bad.out()).isEqualTo(1);
    }

    @Test
    void itVerifiesOurEvidenceAndProofs() throws Exception {
        String id = approvedExport();
        Path evidence = dir.resolve("evidence.json");
        Files.writeString(evidence, get("/v1/requests/" + id + "/evidence"));
        String key = get("/v1/ledger/key").strip();
        Result ev = node("evidence", evidence.toString(), "--key", key);
        assertThat(ev.exit()).as(ev.out()).isZero();
        assertThat(ev.out()).contains("OK: 6 events");

        Path oldCheckpoint = dir.resolve("old");
        Files.writeString(oldCheckpoint, get("/v1/ledger/checkpoint"));
        long oldSize = Long.parseLong(Files.readString(oldCheckpoint).split("\n")[1]);
        approvedExport();
        Path newCheckpoint = dir.resolve("new");
        Files.writeString(dir.resolve("ev2.json"), get("/v1/requests/" + approvedExport() + "/evidence"));
        Files.writeString(newCheckpoint, get("/v1/ledger/checkpoint"));
        long newSize = Long.parseLong(Files.readString(newCheckpoint).split("\n")[1]);
        assertThat(newSize).isGreaterThan(oldSize);

        Path inclusion = dir.resolve("inclusion.json");
        Files.writeString(inclusion, get("/v1/ledger/proofs/inclusion?index=2&size=" + newSize));
        Result inc = node("inclusion", inclusion.toString(), newCheckpoint.toString(), "--key", key);
        assertThat(inc.exit()).as(inc.out()).isZero();

        Path consistency = dir.resolve("consistency.json");
        Files.writeString(consistency, get("/v1/ledger/proofs/consistency?old=" + oldSize + "&new=" + newSize));
        Result con = node(
                "consistency",
                consistency.toString(),
                oldCheckpoint.toString(),
                newCheckpoint.toString(),
                "--key",
                key);
        assertThat(con.exit()).as(con.out()).isZero();
    }
}
