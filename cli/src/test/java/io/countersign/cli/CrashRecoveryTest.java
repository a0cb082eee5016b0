package io.countersign.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.json.Json;
import io.countersign.ledger.Checkpoint;
import io.countersign.ledger.Hashes;
import io.countersign.ledger.ProofVerifier;
import io.countersign.ledger.SignedNote;
import io.countersign.ledger.VerifierKey;
import io.countersign.server.ApiKeys;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 during load: every request and review the server acknowledged is there after restart, its
 * events are in the ledger tree (proved against a signed checkpoint), and the whole log verifies.
 * The server runs as a real separate process on the real SQLite file.
 */
class CrashRecoveryTest {
    private static final Pattern RUNNING = Pattern.compile("running at (http://127\\.0\\.0\\.1:\\d+)");
    private static final String AGENT_KEY = ApiKeys.generate();
    private static final String BOB_KEY = ApiKeys.generate();
    private final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    @Test
    void everyAcknowledgedRequestAndReviewSurvivesKillNine() throws Exception {
        Path config = writeConfig();
        Map<String, String> acknowledged = new ConcurrentHashMap<>(); // request id -> state it was acknowledged in
        Set<String> reviewed = ConcurrentHashMap.newKeySet();
        Process server = start(config);
        String url = awaitUrl(server);
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch enough = new CountDownLatch(300);
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            int n = i;
            clients.add(Thread.ofVirtual().start(() -> load(url, n, stop, enough, acknowledged, reviewed)));
        }
        assertThat(enough.await(120, TimeUnit.SECONDS))
                .as("300 acknowledgements under load")
                .isTrue();
        server.destroyForcibly().waitFor(); // SIGKILL while clients are still sending
        stop.set(true);
        for (Thread t : clients) t.join();

        Process restarted = start(config);
        try {
            String url2 = awaitUrl(restarted);
            for (var e : acknowledged.entrySet()) {
                JsonNode r = get(url2, e.getKey());
                assertThat(r.path("id").asText())
                        .as("request %s after restart", e.getKey())
                        .isEqualTo(e.getKey());
                if (reviewed.contains(e.getKey())) {
                    assertThat(r.path("reviews").toString())
                            .as("review of %s", e.getKey())
                            .contains("\"reviewer\":\"bob\"");
                }
            }
            assertThat(acknowledged).hasSizeGreaterThanOrEqualTo(150);
            assertThat(reviewed).isNotEmpty();
            assertLedgerIntact(url2, acknowledged.keySet());
        } finally {
            restarted.destroyForcibly().waitFor();
        }
    }

    /** Ready (the start-up check passed), each request's events proved, and the export verifies. */
    @Test
    void aSecondServerOnTheSameDataRefusesToStartAndWritesNothing() throws Exception {
        Path config = writeConfig();
        Process first = start(config);
        try {
            String url = awaitUrl(first);
            long before = ledgerSize(url);

            Process second = start(config);
            java.util.concurrent.CompletableFuture<String> output = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> new String(readAll(second), StandardCharsets.UTF_8));
            if (!second.waitFor(60, TimeUnit.SECONDS)) {
                second.destroyForcibly().waitFor();
                throw new AssertionError("a second server started on the same data directory:\n" + output.get());
            }
            String said = output.get(10, TimeUnit.SECONDS);
            assertThat(second.exitValue()).as(said).isNotZero();
            assertThat(said)
                    .contains("is in use by another Countersign")
                    .contains(dir.resolve("data").toString());

            // The first is untouched: no policy.loaded of the second's, and it still takes writes.
            assertThat(ledgerSize(url)).isEqualTo(before);
            HttpResponse<String> submitted = http.send(
                    HttpRequest.newBuilder(URI.create(url + "/v1/requests"))
                            .header("Authorization", "Bearer " + AGENT_KEY)
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("""
                                    {"action":{"type":"db.query","params":{"readonly":true}},
                                     "resource":{"type":"table","id":"orders","env":"prod"}}"""))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(201);
        } finally {
            first.destroyForcibly().waitFor();
        }
    }

    private static byte[] readAll(Process p) {
        try {
            return p.getInputStream().readAllBytes();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private long ledgerSize(String url) throws Exception {
        HttpResponse<String> res = http.send(
                HttpRequest.newBuilder(URI.create(url + "/v1/ledger/entries?start=0&end=0"))
                        .header("Authorization", "Bearer " + AGENT_KEY)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
        return Json.mapper().readTree(res.body()).path("size").asLong();
    }

    private void assertLedgerIntact(String url, Set<String> ids) throws Exception {
        HttpResponse<String> ready = http.send(
                HttpRequest.newBuilder(URI.create(url + "/readyz")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
        for (String id : ids) {
            HttpResponse<String> res = http.send(
                    HttpRequest.newBuilder(URI.create(url + "/v1/requests/" + id + "/evidence"))
                            .header("Authorization", "Bearer " + AGENT_KEY)
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode ev = Json.mapper().readTree(res.body());
            VerifierKey key = VerifierKey.parse(ev.path("verifier_key").asText());
            Checkpoint c = SignedNote.openCheckpoint(ev.path("checkpoint").asText(), key);
            assertThat(ev.path("events").size()).as("events of %s", id).isGreaterThanOrEqualTo(2);
            for (JsonNode e : ev.path("events")) {
                List<byte[]> proof = new ArrayList<>();
                e.path("proof").forEach(h -> proof.add(Hashes.fromBase64(h.asText())));
                ProofVerifier.verifyInclusion(
                        e.path("index").asLong(),
                        c.size(),
                        Hashes.leaf(e.path("leaf").asText().getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                        proof,
                        c.rootHash());
            }
        }
        Path export = dir.resolve("export");
        CliFixture.Run exported =
                CliFixture.run("ledger", "export", "--out", export.toString(), "--server", url, "--key", AGENT_KEY);
        assertThat(exported.exitCode()).as(exported.toString()).isZero();
        CliFixture.Run verified = CliFixture.run("ledger", "verify", export.toString());
        assertThat(verified.exitCode()).as(verified.toString()).isZero();
    }

    private void load(
            String url,
            int n,
            AtomicBoolean stop,
            CountDownLatch enough,
            Map<String, String> acked,
            Set<String> reviewed) {
        for (int i = 0; !stop.get(); i++) {
            try {
                JsonNode r = post(url + "/v1/requests", AGENT_KEY, body(n, i));
                acked.put(r.path("id").asText(), r.path("state").asText());
                enough.countDown();
                if (r.path("state").asText().equals("pending")) {
                    post(
                            url + "/v1/requests/" + r.path("id").asText() + "/reviews",
                            BOB_KEY,
                            "{\"verdict\":\"approve\",\"reason\":\"ok\"}");
                    reviewed.add(r.path("id").asText());
                    enough.countDown();
                }
            } catch (IOException | InterruptedException | IllegalStateException e) {
                return; // the server was killed: whatever was not acknowledged may be lost
            }
        }
    }

    private static String body(int client, int i) {
        boolean export = i % 2 == 0;
        String type = export ? "db.export" : "db.query";
        String params = export
                ? "{\"table\":\"t" + client + "_" + i + "\"}"
                : "{\"sql\":\"select " + i + "\",\"readonly\":true}";
        return "{\"action\":{\"type\":\"" + type + "\",\"params\":" + params + "},"
                + "\"resource\":{\"type\":\"table\",\"id\":\"t" + client
                + "\",\"env\":\"prod\",\"tags\":[\"pii\"]},\"justification\":\"load\"}";
    }

    private JsonNode post(String url, String key, String body) throws IOException, InterruptedException {
        HttpResponse<String> res = http.send(
                HttpRequest.newBuilder(URI.create(url))
                        .header("Authorization", "Bearer " + key)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() >= 300) throw new IllegalStateException("HTTP " + res.statusCode() + ": " + res.body());
        return Json.mapper().readTree(res.body());
    }

    private JsonNode get(String url, String id) throws IOException, InterruptedException {
        HttpResponse<String> res = http.send(
                HttpRequest.newBuilder(URI.create(url + "/v1/requests/" + id))
                        .header("Authorization", "Bearer " + AGENT_KEY)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(res.statusCode()).as("GET %s: %s", id, res.body()).isEqualTo(200);
        return Json.mapper().readTree(res.body());
    }

    private Path writeConfig() throws IOException {
        Path config = dir.resolve("countersign.yaml");
        Files.writeString(config, """
                server: { port: 0 }
                data_dir: data
                policy: %s
                identities:
                  - { id: deploy-bot, kind: agent, owner: alice, api_key_sha256: %s }
                  - { id: alice, kind: human, groups: [data-owners] }
                  - { id: bob, kind: human, groups: [data-owners], api_key_sha256: %s }
                """.formatted(
                        Path.of("..", "examples", "policy.yaml").toAbsolutePath(),
                        ApiKeys.sha256Hex(AGENT_KEY),
                        ApiKeys.sha256Hex(BOB_KEY)));
        return config;
    }

    private static Process start(Path config) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        Main.class.getName(),
                        "serve",
                        "--config",
                        config.toString())
                .redirectErrorStream(true)
                .start();
    }

    private static String awaitUrl(Process p) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        for (String line; (line = out.readLine()) != null; ) {
            seen.append(line).append('\n');
            Matcher m = RUNNING.matcher(line);
            if (m.find()) {
                Thread.ofVirtual()
                        .start(() -> out.lines().forEach(l -> {})); // keep draining so the server never blocks
                return m.group(1);
            }
        }
        throw new IllegalStateException("the server exited before it was ready:\n" + seen);
    }
}
