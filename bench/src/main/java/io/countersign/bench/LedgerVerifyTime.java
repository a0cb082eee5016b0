package io.countersign.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.countersign.cli.ExportVerification;
import io.countersign.core.LedgerEvent;
import io.countersign.ledger.Checkpoint;
import io.countersign.ledger.CompactRange;
import io.countersign.ledger.Hashes;
import io.countersign.ledger.SignedNote;
import io.countersign.ledger.SigningKey;
import io.countersign.ledger.VerifierKey;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Offline verification of a ledger export, end to end: {@link ExportVerification#verify} over an
 * export directory of {@code --entries} realistic entries, its signed checkpoint and its key, as
 * {@code countersign ledger verify} runs it. The goal is at most 5 s for 1M entries.
 *
 * <p>The export is generated once and kept under {@code bench/target/ledger-data/export-N}: leaf i
 * is the canonical JSON of a generated event with {@code "index": i}, exactly as the store writes it.
 * The first run in this JVM is reported as cold (the JIT has not compiled the verifier yet; the
 * operating system may well hold the file in its page cache), the others as warm. Then, unless
 * {@code --phases no}, the parts of the work are timed apart: reading and splitting lines, leaf
 * hashing with the tree, and the per-entry JSON index check.
 */
public final class LedgerVerifyTime {
    private static final Set<String> FLAGS = Set.of("entries", "runs", "cache", "events", "phases");
    private static final JsonFactory JSON = new JsonFactory();
    private static final int SAMPLE = 100_000;

    /** Which generated events make up the export. */
    enum Events {
        /** request.submitted only, about 590 bytes each: the largest common event. */
        SUBMITTED,
        /** Whole allowed submissions: submitted, decided, grant.issued in turn. */
        SUBMISSIONS
    }

    private final long entries;
    private final int runs;
    private final Path cache;
    private final Events events;
    private final boolean phases;

    private LedgerVerifyTime(Flags flags) {
        this.entries = flags.counts("entries", List.of(1_000_000L), 1).getFirst();
        this.runs = flags.count("runs", 3, 0);
        this.cache = Path.of(flags.text("cache", LedgerData.defaultCache().toString()));
        this.events = flags.choice("events", Events.SUBMITTED);
        String p = flags.text("phases", "yes");
        if (!p.equals("yes") && !p.equals("no"))
            throw new IllegalArgumentException("--phases: yes or no; got '" + p + "'");
        this.phases = p.equals("yes");
    }

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--help")) {
            System.out.println(help());
            return;
        }
        LedgerVerifyTime bench;
        try {
            bench = new LedgerVerifyTime(new Flags(args, FLAGS));
        } catch (IllegalArgumentException e) {
            System.err.println("ledger-verify: " + e.getMessage());
            System.exit(2);
            return;
        }
        bench.run();
        System.exit(0);
    }

    private void run() throws IOException {
        Path dir = export(cache, entries, events);
        Path file = dir.resolve(ExportVerification.ENTRIES);
        long bytes = Files.size(file);
        VerifierKey key = VerifierKey.parse(Files.readString(dir.resolve(ExportVerification.KEY)));
        Checkpoint expected =
                SignedNote.openCheckpoint(Files.readString(dir.resolve(ExportVerification.CHECKPOINT)), key);
        System.out.printf(
                Locale.ROOT,
                "%nLedgerVerifyTime: %,d entries (%s, mean %.0f bytes a line) in %s; %s%n",
                entries,
                Report.mib(bytes),
                bytes / (double) entries,
                dir,
                Report.load());
        double[] seconds = new double[runs + 1];
        for (int r = 0; r <= runs; r++) seconds[r] = verifyOnce(dir, key, expected, bytes, r == 0 ? "cold" : "warm");
        if (runs > 1) {
            double[] warm = Arrays.copyOfRange(seconds, 1, seconds.length);
            Arrays.sort(warm);
            System.out.printf(Locale.ROOT, "warm: best %.2f s, median %.2f s%n", warm[0], warm[warm.length / 2]);
        }
        if (phases) phases(file, entries, bytes);
    }

    private double verifyOnce(Path dir, VerifierKey key, Checkpoint expected, long bytes, String what)
            throws IOException {
        long cpu = Report.processCpuNanos();
        long t0 = System.nanoTime();
        Checkpoint c = ExportVerification.verify(dir, key, null, null, n -> {});
        double seconds = (System.nanoTime() - t0) / 1e9;
        double cpuSeconds = (Report.processCpuNanos() - cpu) / 1e9;
        if (!c.equals(expected)) throw new IllegalStateException("verified " + c + ", expected " + expected);
        System.out.printf(
                Locale.ROOT,
                "%s: %.2f s  %,.0f entries/s  %.0f MB/s  (CPU %.2f s; OK, root %s)%n",
                what,
                seconds,
                entries / seconds,
                bytes / 1e6 / seconds,
                cpuSeconds,
                Hashes.base64(c.rootHash()));
        return seconds;
    }

    // ---- the export ------------------------------------------------------------------------------

    /** The export of {@code entries} events in {@code cache}, generated unless already there. */
    static Path export(Path cache, long entries, Events events) throws IOException {
        String name = "export-" + entries + (events == Events.SUBMITTED ? "" : "-submissions");
        Path done = cache.resolve(name);
        if (Files.isDirectory(done)) return done;
        Path partial = cache.resolve(name + ".partial");
        if (Files.exists(partial)) LedgerData.delete(partial);
        Files.createDirectories(partial);
        long t0 = System.nanoTime();
        SigningKey key = SigningKey.generate(LedgerData.ORIGIN, new SecureRandom());
        byte[] root = writeEntries(partial.resolve(ExportVerification.ENTRIES), entries, events);
        Checkpoint c = new Checkpoint(LedgerData.ORIGIN, entries, root);
        Files.writeString(partial.resolve(ExportVerification.CHECKPOINT), SignedNote.sign(c, key));
        Files.writeString(partial.resolve(ExportVerification.KEY), key.verifierKey() + "\n");
        LedgerData.complete(partial, done);
        System.err.printf(Locale.ROOT, "generated %s in %.1f s%n", done, (System.nanoTime() - t0) / 1e9);
        return done;
    }

    /** Writes the entries and returns their root. */
    private static byte[] writeEntries(Path file, long entries, Events events) throws IOException {
        SubmissionEvents source = new SubmissionEvents(42);
        CompactRange tree = new CompactRange();
        Hashes hashes = new Hashes();
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            long index = 0;
            while (index < entries) {
                List<LedgerEvent> next = events == Events.SUBMITTED
                        ? source.next(1)
                        : source.next((int) Math.min(SubmissionEvents.PER_SUBMISSION, entries - index));
                for (LedgerEvent e : next) {
                    byte[] leaf = SubmissionEvents.leaf(e, index++).getBytes(StandardCharsets.UTF_8);
                    out.write(leaf);
                    out.write('\n');
                    tree.append(hashes.leafHash(leaf));
                }
            }
        }
        return tree.root();
    }

    // ---- where the time goes -----------------------------------------------------------------------

    /** One part of the work, timed alone. */
    @FunctionalInterface
    private interface Part {
        void run() throws IOException;
    }

    /**
     * The parts of the verification, each in its own small loop so that the JIT compiles each
     * alike: reading and splitting the whole file, then hashing and parsing the first {@link
     * #SAMPLE} entries held in memory, scaled to the whole export. A cost model: the parts need
     * not add up to the end-to-end time exactly.
     */
    private static void phases(Path file, long entries, long bytes) throws IOException {
        List<byte[]> sample = firstLines(file, (int) Math.min(SAMPLE, entries));
        double scale = entries / (double) sample.size();
        System.out.printf(
                Locale.ROOT,
                "where the time goes (each part alone, best of 5; hashing and parsing timed on %,d entries in"
                        + " memory and scaled to %,d):%n",
                sample.size(),
                entries);
        part("read + split lines (1 MiB reads)", best(() -> readAndSplit(file)), bytes);
        part("SHA-256 leaf hashes + tree", best(() -> hashAll(sample)) * scale, bytes);
        part("JSON parse of each entry (index check)", best(() -> parseAll(sample)) * scale, bytes);
    }

    private static void part(String what, double seconds, long bytes) {
        System.out.printf(Locale.ROOT, "  %-40s %.2f s  (%.0f MB/s)%n", what, seconds, bytes / 1e6 / seconds);
    }

    private static double best(Part part) throws IOException {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long t0 = System.nanoTime();
            part.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }

    private static void readAndSplit(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            int filled = 0;
            int n;
            while ((n = in.read(buf, filled, buf.length - filled)) >= 0) {
                filled += n;
                int rest = afterLastLine(buf, filled);
                System.arraycopy(buf, rest, buf, 0, filled - rest);
                filled -= rest;
            }
        }
    }

    /** Finds every line in {@code buf[0, filled)} byte by byte, as the verifier does; returns where the rest starts. */
    private static int afterLastLine(byte[] buf, int filled) {
        int start = 0;
        for (int i = 0; i < filled; i++) {
            if (buf[i] == '\n') start = i + 1;
        }
        return start;
    }

    private static List<byte[]> firstLines(Path file, int count) throws IOException {
        List<byte[]> out = new ArrayList<>(count);
        try (var in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while (out.size() < count && (line = in.readLine()) != null) out.add(line.getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }

    private static void hashAll(List<byte[]> entries) {
        Hashes hashes = new Hashes();
        CompactRange tree = new CompactRange();
        for (byte[] e : entries) tree.append(hashes.leafHash(e));
    }

    private static void parseAll(List<byte[]> entries) throws IOException {
        for (int i = 0; i < entries.size(); i++) indexOf(i, entries.get(i));
    }

    /** Finds the top-level "index" of an entry, parsing it as ExportVerification's entry check does. */
    private static void indexOf(long index, byte[] entry) throws IOException {
        try (JsonParser p = JSON.createParser(entry)) {
            p.nextToken();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                if ("index".equals(name) && t == JsonToken.VALUE_NUMBER_INT && p.getLongValue() != index)
                    throw new IllegalStateException("entry " + index + " has another index");
                p.skipChildren();
            }
        }
    }

    private static String help() {
        return """
                Usage: bench/run ledger-verify [options]

                Offline verification of a ledger export, end to end: ExportVerification.verify
                (what 'countersign ledger verify' runs) over entries.jsonl, the signed checkpoint
                and the key. The export is generated once and kept under
                bench/target/ledger-data/export-N. Prints, for a cold run (the first in this JVM)
                and each warm run, seconds, entries/s and MB/s, then the parts of the work timed
                apart. Goal: <= 5 s for 1M entries.

                Options (defaults in brackets):
                  --entries N        entries in the export [1M]
                  --runs R           warm runs after the cold one [3]
                  --events E         submitted: request.submitted events only, about 590 bytes
                                     each; submissions: whole allowed submissions (submitted,
                                     decided, grant.issued), about 390 bytes on average [submitted]
                  --phases yes|no    also time reading, hashing and JSON parsing apart [yes]
                  --cache DIR        where exports are kept [bench/target/ledger-data]
                Numbers take k and M suffixes: 1M.
                """;
    }
}
