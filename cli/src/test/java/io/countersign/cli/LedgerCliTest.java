package io.countersign.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.cli.CliFixture.Run;
import io.countersign.ledger.Checkpoint;
import io.countersign.ledger.SignedNote;
import io.countersign.ledger.SigningKey;
import io.countersign.ledger.VerifierKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code countersign ledger export} and {@code ledger verify} against a real server, and every way
 * of tampering with an export that an auditor must catch: real files, edited as an attacker would.
 */
class LedgerCliTest {
    @TempDir
    Path dir;

    CliFixture cs;
    Path export;

    @BeforeEach
    void start() {
        cs = new CliFixture(dir.resolve("data"));
        export = dir.resolve("export");
    }

    @AfterEach
    void stop() {
        cs.close();
    }

    /** A few requests, each followed by an evidence call so that several checkpoints are signed. */
    void someHistory(int requests) {
        for (int i = 0; i < requests; i++) {
            Run r = cs.as(
                    "deploy-bot",
                    "request",
                    "--type",
                    "db.query",
                    "--param",
                    "readonly=true",
                    "--resource",
                    "table:orders",
                    "--env",
                    "prod",
                    "--json");
            assertThat(r.exitCode()).as(r.toString()).isZero();
            String id = r.json().path("id").asText();
            assertThat(cs.as("deploy-bot", "events", id).exitCode()).isZero();
            cs.evidence("deploy-bot", id);
        }
    }

    Run exportNow() {
        Run r = cs.as("bob", "ledger", "export", "--out", export.toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        return r;
    }

    Run verify(String... more) {
        List<String> args = new ArrayList<>(List.of("ledger", "verify", export.toString()));
        args.addAll(List.of(more));
        return CliFixture.run(args.toArray(String[]::new));
    }

    String key() throws IOException {
        return Files.readString(export.resolve("key")).strip();
    }

    List<String> lines() throws IOException {
        return new ArrayList<>(Files.readAllLines(export.resolve("entries.jsonl")));
    }

    void write(List<String> lines) throws IOException {
        Files.writeString(export.resolve("entries.jsonl"), String.join("\n", lines) + "\n");
    }

    @Test
    void anExportVerifiesOfflineWithThePinnedKey() throws IOException {
        someHistory(3);
        Run e = exportNow();
        assertThat(e.out()).contains("exported");
        Run v = verify("--key", key());
        assertThat(v.exitCode()).as(v.toString()).isZero();
        assertThat(v.out()).startsWith("OK: ");
        assertThat(Files.readAllLines(export.resolve("checkpoints.jsonl"))).isNotEmpty();
        Checkpoint c =
                SignedNote.openCheckpoint(Files.readString(export.resolve("checkpoint")), VerifierKey.parse(key()));
        assertThat(lines()).hasSize((int) c.size());
    }

    @Test
    void namesTheEntryThatWasEditedBetweenTwoCheckpoints() throws IOException {
        someHistory(4);
        exportNow();
        List<String> l = lines();
        int victim = l.size() - 3;
        l.set(victim, l.get(victim).replace("\"actor\":\"", "\"actor\":\"x"));
        write(l);
        Run v = verify("--key", key());
        assertThat(v.exitCode()).isEqualTo(1);
        assertThat(v.out())
                .startsWith("FAILED: ")
                .contains("to " + (l.size() - 1))
                .contains("changed");
    }

    @Test
    void namesADeletedSwappedOrInsertedEntryExactly() throws IOException {
        someHistory(3);
        exportNow();
        String key = key();
        List<String> original = lines();

        List<String> deleted = new ArrayList<>(original);
        deleted.remove(4);
        write(deleted);
        assertThat(verify("--key", key).out()).contains("entry 4: says it is entry 5");

        List<String> swapped = new ArrayList<>(original);
        Collections.swap(swapped, 5, 6);
        write(swapped);
        assertThat(verify("--key", key).out()).contains("entry 5: says it is entry 6");

        List<String> inserted = new ArrayList<>(original);
        inserted.add(2, original.get(2).replace("\"actor\":\"", "\"actor\":\"forged-"));
        write(inserted);
        assertThat(verify("--key", key).out()).contains("entry 3: says it is entry 2");

        write(original);
        assertThat(verify("--key", key).exitCode()).isZero();
    }

    @Test
    void refusesATruncatedLogReSignedWithAnotherKey() throws IOException {
        someHistory(3);
        exportNow();
        String trusted = key();
        List<String> l = lines().subList(0, 5);
        write(l);
        SigningKey attacker = SigningKey.generate(VerifierKey.parse(trusted).name(), new SecureRandom());
        io.countersign.ledger.CompactRange r = new io.countersign.ledger.CompactRange();
        l.forEach(e -> r.append(io.countersign.ledger.Hashes.leaf(e.getBytes(StandardCharsets.UTF_8))));
        Files.writeString(
                export.resolve("checkpoint"), SignedNote.sign(new Checkpoint(attacker.name(), 5, r.root()), attacker));
        Files.writeString(export.resolve("key"), attacker.verifierKey() + "\n");
        Files.delete(export.resolve("checkpoints.jsonl"));
        Run v = verify("--key", trusted);
        assertThat(v.exitCode()).isEqualTo(1);
        assertThat(v.out())
                .contains("no signature by " + VerifierKey.parse(trusted).name());
    }

    @Test
    void refusesAReplacedCheckpointSignature() throws IOException {
        someHistory(2);
        exportNow();
        String note = Files.readString(export.resolve("checkpoint"));
        int at = note.lastIndexOf(' ') + 10;
        Files.writeString(
                export.resolve("checkpoint"),
                note.substring(0, at) + (note.charAt(at) == 'A' ? 'B' : 'A') + note.substring(at + 1));
        Run v = verify("--key", key());
        assertThat(v.exitCode()).isEqualTo(1);
        assertThat(v.out()).contains("does not verify");
    }

    @Test
    void refusesALogRolledBackBehindACheckpointTheAuditorKept() throws IOException {
        someHistory(2);
        exportNow();
        Path kept = dir.resolve("kept-checkpoint");
        Files.copy(export.resolve("checkpoint"), kept);
        Path olderExport = dir.resolve("older");
        Files.move(export, olderExport);
        someHistory(2);
        exportNow();
        // The newer export extends the kept checkpoint...
        assertThat(verify("--key", key(), "--previous", kept.toString()).exitCode())
                .isZero();
        // ...but the older export, presented later as the whole log, does not.
        Path newerCheckpoint = dir.resolve("newer-checkpoint");
        Files.copy(export.resolve("checkpoint"), newerCheckpoint);
        Run v = CliFixture.run(
                "ledger", "verify", olderExport.toString(), "--key", key(), "--previous", newerCheckpoint.toString());
        assertThat(v.exitCode()).isEqualTo(1);
        assertThat(v.out()).contains("truncated or rolled back");
    }

    @Test
    void keygenWritesAnOwnerOnlyKeyAndPrintsItsVerifierKey() throws IOException {
        Path file = dir.resolve("keys").resolve("ledger.key");
        Run r = CliFixture.run("ledger", "keygen", "--origin", "countersign.example/ledger", "--out", file.toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-------");
        SigningKey k = SigningKey.parse(Files.readString(file));
        assertThat(r.out()).contains(k.verifierKey().toString()).doesNotContain(k.encode());
        Run again = CliFixture.run("ledger", "keygen", "--origin", "x", "--out", file.toString());
        assertThat(again.exitCode()).isEqualTo(2);
        assertThat(again.err())
                .isEqualTo("countersign: " + file + ": already exists; not overwritten" + System.lineSeparator());
        assertThat(SigningKey.parse(Files.readString(file)).encode()).isEqualTo(k.encode());
    }

    @Test
    void anExportDoesNotOverwriteAnEarlierOneUnlessAskedTo() throws IOException {
        someHistory(1);
        exportNow();
        String first = Files.readString(export.resolve("checkpoint"));
        someHistory(1);
        Run again = cs.as("bob", "ledger", "export", "--out", export.toString());
        assertThat(again.exitCode()).isEqualTo(2);
        assertThat(again.err()).contains(export + " already holds an export", "--replace");
        assertThat(Files.readString(export.resolve("checkpoint"))).isEqualTo(first);
        Run replaced = cs.as("bob", "ledger", "export", "--out", export.toString(), "--replace");
        assertThat(replaced.exitCode()).as(replaced.toString()).isZero();
        assertThat(Files.readString(export.resolve("checkpoint"))).isNotEqualTo(first);
        assertThat(verify("--key", key()).exitCode()).isZero();
    }

    @Test
    void aMalformedKeyIsAUsageErrorThatSaysWhatAKeyLooksLike() throws IOException {
        someHistory(1);
        exportNow();
        Run garbage = verify("--key", "garbage");
        assertThat(garbage.exitCode()).as(garbage.toString()).isEqualTo(2);
        assertThat(garbage.err())
                .contains("--key: a malformed verifier key")
                .contains("name+hash+base64")
                .contains("/v1/ledger/key")
                .contains("or a file holding it");
        assertThat(garbage.out()).isEmpty();

        Path file = Files.writeString(dir.resolve("not-a-key"), "garbage\n");
        Run inFile = verify("--key", file.toString());
        assertThat(inFile.exitCode()).as(inFile.toString()).isEqualTo(2);
        assertThat(inFile.err()).contains("--key: " + file + " holds a malformed verifier key");

        Run previous = verify(
                "--key", key(), "--previous", export.resolve("checkpoint").toString(), "--previous-key", "x");
        assertThat(previous.exitCode()).as(previous.toString()).isEqualTo(2);
        assertThat(previous.err()).contains("--previous-key: a malformed verifier key");

        Run fromFile = verify("--key", export.resolve("key").toString());
        assertThat(fromFile.exitCode()).as(fromFile.toString()).isZero();
    }

    @Test
    void verifyHasHelpAndRefusesAMissingExport() {
        assertThat(CliFixture.run("ledger", "verify", "--help").out()).contains("--previous");
        Run r = CliFixture.run(
                "ledger",
                "verify",
                dir.resolve("nothing").toString(),
                "--key",
                "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
        assertThat(r.err()).contains(dir.resolve("nothing") + " is not a directory");

        Run noKey = CliFixture.run("ledger", "verify", dir.resolve("nothing").toString());
        assertThat(noKey.exitCode()).as(noKey.toString()).isEqualTo(2);
        assertThat(noKey.err()).contains(dir.resolve("nothing") + " is not a directory");
    }

    @Test
    void anExportWithoutItsKeyFileAsksForTheKey() throws IOException {
        someHistory(1);
        exportNow();
        String pinned = key();
        Files.delete(export.resolve("key"));
        Run r = verify();
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
        assertThat(r.err()).contains(export + " holds no key file").contains("--key");
        assertThat(verify("--key", pinned).exitCode()).isZero();
    }
}
