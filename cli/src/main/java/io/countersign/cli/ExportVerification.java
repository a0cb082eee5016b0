package io.countersign.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.countersign.ledger.Checkpoint;
import io.countersign.ledger.LogVerifier;
import io.countersign.ledger.VerificationException;
import io.countersign.ledger.VerifierKey;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongConsumer;

/**
 * Verifies a ledger export offline: {@code entries.jsonl} (line i is exactly the bytes of leaf i),
 * {@code checkpoint} (a C2SP signed note) and optionally an earlier checkpoint. Reads the entries
 * once, in 1 MiB chunks; memory stays small whatever the size of the log.
 */
public final class ExportVerification {
    public static final String ENTRIES = "entries.jsonl";
    public static final String CHECKPOINT = "checkpoint";
    public static final String KEY = "key";
    public static final String HISTORY = "checkpoints.jsonl";
    private static final JsonFactory JSON = new JsonFactory();

    private ExportVerification() {}

    /**
     * Verifies {@code dir} against {@code key}; with {@code previous}, also that the log extends that
     * earlier checkpoint. Calls {@code progress} with the count of verified entries now and then.
     *
     * @return the verified checkpoint
     * @throws VerificationException naming the first entry (or checkpoint) that fails, and why
     */
    public static Checkpoint verify(
            Path dir, VerifierKey key, String previous, VerifierKey previousKey, LongConsumer progress)
            throws IOException {
        LogVerifier v = new LogVerifier(key, read(dir.resolve(CHECKPOINT)), ExportVerification::problem);
        if (previous != null) v.expectEarlier(previous, previousKey == null ? key : previousKey);
        for (String note : history(dir)) {
            try {
                v.expectEarlier(note, key);
            } catch (VerificationException e) {
                if (!e.getMessage().contains("no signature by"))
                    throw new VerificationException("checkpoints.jsonl: " + e.getMessage());
                // signed before a key rotation: not checked with this key
            }
        }
        try (InputStream in = Files.newInputStream(dir.resolve(ENTRIES))) {
            Lines.each(in, (buf, off, len) -> {
                v.accept(buf, off, len);
                if (v.count() % 100_000 == 0) progress.accept(v.count());
            });
        }
        progress.accept(v.count());
        return v.finish();
    }

    /** The export's earlier checkpoints (one JSON string per line), if it has them. */
    private static java.util.List<String> history(Path dir) throws IOException {
        Path file = dir.resolve(HISTORY);
        if (!Files.exists(file)) return java.util.List.of();
        java.util.List<String> notes = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (!line.isBlank())
                notes.add(io.countersign.core.json.Json.mapper().readValue(line, String.class));
        }
        return notes;
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON_MAPPER =
            new com.fasterxml.jackson.databind.ObjectMapper();

    private static String read(Path file) throws IOException {
        if (!Files.exists(file)) throw new VerificationException("the export has no " + file.getFileName());
        return Files.readString(file);
    }

    /** Each entry is one JSON object whose top-level {@code index} is its position in the log. */
    static String problem(long index, byte[] entry, int offset, int length) {
        try (JsonParser p = JSON.createParser(entry, offset, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) return "not a JSON object";
            Long found = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                if ("index".equals(name) && t == JsonToken.VALUE_NUMBER_INT) found = p.getLongValue();
                else p.skipChildren();
            }
            if (p.nextToken() != null) return "more than one JSON value on the line";
            if (found == null) return "has no index";
            if (found != index)
                return "says it is entry " + found + ": entries were removed, inserted or reordered before it";
            return null;
        } catch (IOException e) {
            return "not valid JSON: " + e.getMessage().lines().findFirst().orElse("");
        }
    }

    /** Splits a stream into lines without copying or decoding them. */
    static final class Lines {
        @FunctionalInterface
        interface Sink {
            void line(byte[] buf, int offset, int length);
        }

        static void each(InputStream in, Sink sink) throws IOException {
            byte[] buf = new byte[1 << 20];
            int filled = 0;
            while (true) {
                int n = in.read(buf, filled, buf.length - filled);
                if (n < 0) break;
                filled += n;
                int start = 0;
                for (int i = start; i < filled; i++) {
                    if (buf[i] == '\n') {
                        sink.line(buf, start, i - start);
                        start = i + 1;
                    }
                }
                System.arraycopy(buf, start, buf, 0, filled - start);
                filled -= start;
                if (filled == buf.length) buf = java.util.Arrays.copyOf(buf, buf.length * 2);
            }
            if (filled > 0) throw new VerificationException("the last entry does not end in a newline");
        }
    }
}
