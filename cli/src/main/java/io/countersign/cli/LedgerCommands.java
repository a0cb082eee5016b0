package io.countersign.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.ledger.Checkpoint;
import io.countersign.ledger.Hashes;
import io.countersign.ledger.SignedNote;
import io.countersign.ledger.SigningKey;
import io.countersign.ledger.VerificationException;
import io.countersign.ledger.VerifierKey;
import io.countersign.server.config.LedgerKeys;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "ledger",
        mixinStandardHelpOptions = true,
        description = "Export the ledger, verify an export offline, make a signing key.",
        subcommands = {LedgerCommands.Export.class, LedgerCommands.Verify.class, LedgerCommands.Keygen.class})
final class LedgerCommands implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(
            name = "export",
            mixinStandardHelpOptions = true,
            description = {
                "Export the ledger up to its latest signed checkpoint into DIR.",
                "  entries.jsonl      one leaf per line, exactly the bytes that were hashed",
                "  checkpoint         the signed checkpoint (C2SP signed note)",
                "  checkpoints.jsonl  earlier signed checkpoints, to narrow a fault down",
                "  key                the log's verifier key"
            })
    static final class Export implements Callable<Integer> {
        @Mixin
        ConnectionOptions client;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write (created)")
        Path out;

        @Option(
                names = "--replace",
                description = "Overwrite an earlier export in DIR (by default refused: its checkpoint is what a"
                        + " later verify --previous needs)")
        boolean replace;

        @Override
        public Integer call() throws IOException {
            if (!replace && Files.exists(out.resolve(ExportVerification.CHECKPOINT)))
                throw new IllegalArgumentException(out + " already holds an export; keep its checkpoint for a later"
                        + " verify --previous and export to another directory, or pass --replace");
            ApiClient api = client.client();
            String note = api.getText("/v1/ledger/checkpoint");
            String key = api.getText("/v1/ledger/key");
            Checkpoint c = SignedNote.openCheckpoint(note, VerifierKey.parse(key));
            Files.createDirectories(out);
            long written = 0;
            try (OutputStream o =
                    new BufferedOutputStream(Files.newOutputStream(out.resolve(ExportVerification.ENTRIES)), 1 << 16)) {
                while (written < c.size()) {
                    long end = Math.min(c.size(), written + 1000);
                    JsonNode page =
                            api.get("/v1/ledger/entries?start=" + written + "&end=" + end, Duration.ofSeconds(60));
                    for (JsonNode e : page.get("entries")) {
                        o.write(e.get("leaf").asText().getBytes(StandardCharsets.UTF_8));
                        o.write('\n');
                    }
                    written = end;
                    if (written % 100_000 == 0 || written == c.size())
                        System.err.printf("exported %,d of %,d entries%n", written, c.size());
                }
            }
            Files.writeString(out.resolve(ExportVerification.CHECKPOINT), note);
            StringBuilder history = new StringBuilder();
            for (JsonNode n :
                    api.get("/v1/ledger/checkpoints", Duration.ofSeconds(60)).get("checkpoints")) {
                // Signed after the exported checkpoint was fetched: not part of this export.
                if (Checkpoint.parse(SignedNote.unverifiedText(n.asText())).size() > c.size()) continue;
                history.append(io.countersign.core.json.Json.mapper().writeValueAsString(n.asText()))
                        .append('\n');
            }
            Files.writeString(out.resolve(ExportVerification.HISTORY), history);
            Files.writeString(out.resolve(ExportVerification.KEY), key.strip() + "\n");
            System.out.printf(
                    "exported %,d entries to %s (checkpoint root %s)%n", c.size(), out, Hashes.base64(c.rootHash()));
            return 0;
        }
    }

    @Command(
            name = "verify",
            mixinStandardHelpOptions = true,
            description = {
                "Verify an export offline; exit 1 names the first entry or checkpoint that fails.",
                "Checks every leaf, the root, the checkpoint's signature and, with --previous, that the log extends"
                        + " a checkpoint you kept from before."
            })
    static final class Verify implements Callable<Integer> {
        @Parameters(paramLabel = "DIR", description = "An export written by 'countersign ledger export'")
        Path dir;

        @Option(
                names = "--key",
                paramLabel = "KEY",
                description = {
                    "The verifier key you trust: name+hash+base64, as the server prints it at start-up and serves it"
                            + " at /v1/ledger/key, or a file holding it.",
                    "Default: DIR/key, which proves only that the export is consistent with itself."
                })
        String key;

        @Option(names = "--previous", paramLabel = "FILE", description = "An earlier checkpoint of the same log")
        Path previous;

        @Option(
                names = "--previous-key",
                paramLabel = "KEY",
                description = "The key that signed --previous, if the log's key was rotated since")
        String previousKey;

        @Override
        public Integer call() throws IOException {
            if (!Files.isDirectory(dir))
                throw new IllegalArgumentException(
                        dir + " is not a directory: give the directory that 'countersign ledger export' wrote");
            Path keyFile = dir.resolve(ExportVerification.KEY);
            if (key == null && !Files.isRegularFile(keyFile))
                throw new IllegalArgumentException(dir + " holds no " + ExportVerification.KEY
                        + " file, so there is no key to check it with: give the log's key with --key");
            VerifierKey trusted =
                    key != null ? verifierKey("--key", key) : VerifierKey.parse(Files.readString(keyFile));
            if (key == null)
                System.err.println(
                        "note: trusting the key in the export (" + trusted + "); pin the log's key with --key");
            try {
                long started = System.nanoTime();
                Checkpoint c = ExportVerification.verify(
                        dir,
                        trusted,
                        previous == null ? null : Files.readString(previous),
                        previousKey == null ? null : verifierKey("--previous-key", previousKey),
                        n -> {
                            if (n > 0) System.err.printf("verified %,d entries%n", n);
                        });
                System.out.printf(
                        "OK: %,d entries; root %s; signed by %s (%.1f s)%n",
                        c.size(), Hashes.base64(c.rootHash()), trusted, (System.nanoTime() - started) / 1e9);
                return 0;
            } catch (VerificationException e) {
                System.out.println("FAILED: " + e.getMessage());
                return 1;
            }
        }

        /** A key given as its text or as a file holding it; a malformed one is a usage error (exit 2). */
        private static VerifierKey verifierKey(String option, String value) throws IOException {
            Path file = Path.of(value);
            boolean isFile = Files.isRegularFile(file);
            try {
                return VerifierKey.parse(isFile ? Files.readString(file) : value);
            } catch (VerificationException e) {
                throw new IllegalArgumentException(option + ": " + (isFile ? value + " holds a" : "a")
                        + " malformed verifier key (" + e.getMessage() + "); give the key as the server prints it"
                        + " at start-up and serves it at /v1/ledger/key, or a file holding it");
            }
        }
    }

    @Command(
            name = "keygen",
            mixinStandardHelpOptions = true,
            description = {
                "Make a checkpoint signing key (an owner-only file) for ledger.key_file.",
                "Use it to rotate the key: keep the log's origin, set ledger.key_file, restart.",
                "Prints the verifier key to give to auditors."
            })
    static final class Keygen implements Callable<Integer> {
        @Option(
                names = "--origin",
                required = true,
                paramLabel = "NAME",
                description =
                        "The log's name, e.g. countersign.example.com/ledger (keep the current one when rotating)")
        String origin;

        @Option(
                names = "--out",
                required = true,
                paramLabel = "FILE",
                description = "Where to write the key (must not exist)")
        Path out;

        @Override
        public Integer call() throws IOException {
            SigningKey k = SigningKey.generate(origin, new SecureRandom());
            LedgerKeys.writeSecret(out, k.encode() + "\n");
            System.out.println("signing key written to " + out + " (owner-only)");
            System.out.println("verifier key: " + k.verifierKey());
            return 0;
        }
    }
}
