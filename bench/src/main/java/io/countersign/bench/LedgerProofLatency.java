package io.countersign.bench;

import io.countersign.core.LedgerEvent;
import io.countersign.ledger.Hashes;
import io.countersign.ledger.NodeReader;
import io.countersign.ledger.ProofVerifier;
import io.countersign.ledger.Proofs;
import io.countersign.ledger.SignedCheckpoint;
import io.countersign.ledger.SignedNote;
import io.countersign.store.SqliteStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;

/**
 * Inclusion-proof latency on a large ledger: {@link Proofs#inclusion} of random leaves over {@link
 * SqliteStore#nodes()}, from one thread and from several, on a store of each {@code --sizes}. The
 * issue's goal is at most 0.2 ms per proof at 1M and 10M entries.
 *
 * <p>Each store is filled once through the real append path ({@link SqliteStore#write}, big writes)
 * and kept under {@code bench/target/ledger-data/proof-SIZE}, so reruns only open it (which runs the
 * store's full ledger check). Every 20th measured proof is kept and verified afterwards against the
 * root of the signed checkpoint, with the leaf read back from the store, so the figures are those of
 * correct proofs.
 */
public final class LedgerProofLatency {
    private static final Set<String> FLAGS =
            Set.of("sizes", "proofs", "warmup", "threads", "cache", "fill-writers", "events-per-write");
    private static final int KEEP_EVERY = 20;

    private final List<Long> sizes;
    private final int proofs;
    private final int warmup;
    private final List<Long> threads;
    private final Path cache;
    private final int fillWriters;
    private final int eventsPerWrite;

    private LedgerProofLatency(Flags flags) {
        this.sizes = flags.counts("sizes", List.of(1_000_000L, 10_000_000L), 1);
        this.proofs = flags.count("proofs", 20_000, 1);
        this.warmup = flags.count("warmup", 5_000, 0);
        this.threads = flags.counts("threads", List.of(1L, 2L, 4L), 1);
        this.cache = Path.of(flags.text("cache", LedgerData.defaultCache().toString()));
        this.fillWriters = flags.count("fill-writers", 4, 1);
        this.eventsPerWrite = flags.count("events-per-write", 1_000, 1);
    }

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--help")) {
            System.out.println(help());
            return;
        }
        LedgerProofLatency bench;
        try {
            bench = new LedgerProofLatency(new Flags(args, FLAGS));
        } catch (IllegalArgumentException e) {
            System.err.println("ledger-proof: " + e.getMessage());
            System.exit(2);
            return;
        }
        for (long size : bench.sizes) bench.run(size);
        System.exit(0);
    }

    private void run(long size) throws InterruptedException {
        Path dir = prepared(size);
        long t0 = System.nanoTime();
        try (SqliteStore store = LedgerData.openStore(dir)) {
            double openSeconds = (System.nanoTime() - t0) / 1e9;
            SignedCheckpoint checkpoint = checkedCheckpoint(store, dir, size);
            System.out.printf(
                    Locale.ROOT,
                    "%nLedgerProofLatency: %,d entries at %s; database %s on disk (%s + WAL %s); opened in %.1f s"
                            + " (the store checks the whole ledger at open); %s%n",
                    size,
                    dir,
                    Report.mib(LedgerData.bytesUnder(dir)),
                    Report.mib(LedgerData.size(store.file())),
                    Report.mib(LedgerData.size(Path.of(store.file() + "-wal"))),
                    openSeconds,
                    Report.load());
            Timed nodes = new Timed(store.nodes());
            measure(store, nodes, checkpoint, warmup, 1, 7);
            System.out.printf(Locale.ROOT, "warm-up: %,d proofs from 1 thread%n", warmup);
            for (long t : threads) {
                Round r = measure(store, nodes, checkpoint, proofs, (int) t, 11 + t);
                print(r, (int) t);
                verify(store, checkpoint, r.kept());
            }
        }
    }

    // ---- the data set ----------------------------------------------------------------------------

    private Path prepared(long size) throws InterruptedException {
        Path done = cache.resolve("proof-" + size);
        if (Files.isDirectory(done)) return done;
        Path partial = cache.resolve("proof-" + size + ".partial");
        try (SqliteStore store = LedgerData.openStore(partial)) {
            fill(store, size);
            store.checkpointNow();
        }
        LedgerData.complete(partial, done);
        return done;
    }

    /** Appends events until the store holds {@code size}, continuing an interrupted fill. */
    private void fill(SqliteStore store, long size) throws InterruptedException {
        long from = store.ledgerSize();
        System.err.printf(
                Locale.ROOT,
                "building a %,d-entry ledger (from %,d) in %s: %d writers, %,d events per write%n",
                size,
                from,
                store.file(),
                fillWriters,
                eventsPerWrite);
        AtomicLong claimed = new AtomicLong(from);
        long start = System.nanoTime();
        ExecutorService writers = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<Void>> tasks = new ArrayList<>();
        for (int w = 0; w < fillWriters; w++) {
            SubmissionEvents source = new SubmissionEvents(from * 31 + w);
            tasks.add(writers.submit(() -> fillFrom(store, source, claimed, size)));
        }
        writers.shutdown();
        while (!writers.awaitTermination(10, TimeUnit.SECONDS)) progress(store, size, from, start);
        Tasks.joinAll(tasks);
        progress(store, size, from, start);
        if (store.ledgerSize() != size)
            throw new IllegalStateException("the fill stopped at " + store.ledgerSize() + " of " + size + " events");
    }

    private Void fillFrom(SqliteStore store, SubmissionEvents source, AtomicLong claimed, long size) {
        long at;
        while ((at = claimed.getAndAdd(eventsPerWrite)) < size) {
            List<LedgerEvent> batch = source.next((int) Math.min(eventsPerWrite, size - at));
            store.write(tx -> {
                for (LedgerEvent e : batch) tx.append(e);
                return null;
            });
        }
        return null;
    }

    private static void progress(SqliteStore store, long size, long from, long start) {
        double seconds = (System.nanoTime() - start) / 1e9;
        long now = store.ledgerSize();
        System.err.printf(
                Locale.ROOT,
                "  %,d of %,d events (%.0f s, %,.0f events/s)%n",
                now,
                size,
                seconds,
                (now - from) / seconds);
    }

    /** The latest checkpoint: signed by the store's key, of the whole ledger, with the stored tree's root. */
    private static SignedCheckpoint checkedCheckpoint(SqliteStore store, Path dir, long size) {
        SignedCheckpoint c = store.checkpointNow().orElseThrow();
        SignedNote.openCheckpoint(c.note(), LedgerData.signingKey(dir).verifierKey());
        if (c.size() != size || store.ledgerSize() != size)
            throw new IllegalStateException(
                    dir + " holds " + store.ledgerSize() + " entries, not " + size + "; delete it to rebuild");
        if (!Arrays.equals(c.checkpoint().rootHash(), Proofs.root(size, store.nodes())))
            throw new IllegalStateException("the signed root is not the stored tree's root: " + c.checkpoint());
        return c;
    }

    // ---- measuring ------------------------------------------------------------------------------

    /** A proof kept for verification after the round. */
    private record Kept(long index, List<byte[]> proof) {}

    /** One round: latencies in nanoseconds, wall time, and the proofs kept. */
    private record Round(Histogram latency, long nanos, long readNanos, long nodesRead, List<Kept> kept, String gc) {}

    /** Counts the time spent in, and the nodes asked of, the store's node reader. */
    private static final class Timed implements NodeReader {
        private final NodeReader nodes;
        private final LongAdder nanos = new LongAdder();
        private final LongAdder ids = new LongAdder();

        Timed(NodeReader nodes) {
            this.nodes = nodes;
        }

        @Override
        public byte[][] read(long[] wanted) {
            long t0 = System.nanoTime();
            byte[][] out = nodes.read(wanted);
            nanos.add(System.nanoTime() - t0);
            ids.add(wanted.length);
            return out;
        }
    }

    private static Round measure(
            SqliteStore store, Timed nodes, SignedCheckpoint c, int count, int threadCount, long seed)
            throws InterruptedException {
        long size = c.size();
        SplittableRandom random = new SplittableRandom(seed);
        long[] indexes = random.longs(count, 0, size).toArray();
        List<Histogram> histograms = new ArrayList<>();
        List<List<Kept>> kept = new ArrayList<>();
        List<Future<Void>> tasks = new ArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        long readsBefore = nodes.nanos.sum();
        long idsBefore = nodes.ids.sum();
        Report.GcTotals gc = Report.GcTotals.now();
        long start;
        try (ExecutorService pool = Executors.newFixedThreadPool(threadCount)) {
            for (int t = 0; t < threadCount; t++) {
                Histogram h = new Histogram(3_600_000_000_000L, 3);
                List<Kept> mine = new ArrayList<>();
                histograms.add(h);
                kept.add(mine);
                int first = t;
                tasks.add(pool.submit(() -> prove(nodes, size, indexes, first, threadCount, h, mine, go)));
            }
            start = System.nanoTime();
            go.countDown();
        }
        long nanos = System.nanoTime() - start;
        Tasks.joinAll(tasks);
        Histogram all = new Histogram(3_600_000_000_000L, 3);
        histograms.forEach(all::add);
        return new Round(
                all,
                nanos,
                nodes.nanos.sum() - readsBefore,
                nodes.ids.sum() - idsBefore,
                kept.stream().flatMap(List::stream).toList(),
                Report.GcTotals.now().since(gc));
    }

    private static Void prove(
            NodeReader nodes,
            long size,
            long[] indexes,
            int first,
            int stride,
            Histogram h,
            List<Kept> kept,
            CountDownLatch go)
            throws InterruptedException {
        go.await();
        for (int i = first; i < indexes.length; i += stride) {
            long t0 = System.nanoTime();
            List<byte[]> proof = Proofs.inclusion(indexes[i], size, nodes);
            h.recordValue(Math.max(1, System.nanoTime() - t0));
            if (i % KEEP_EVERY == 0) kept.add(new Kept(indexes[i], proof));
        }
        return null;
    }

    private static void print(Round r, int threadCount) {
        Histogram h = r.latency();
        long n = h.getTotalCount();
        System.out.printf(
                Locale.ROOT,
                "%d thread%s: p50 %s  p99 %s  p99.9 %s  max %s us; %,.0f proofs/s (%,d proofs);"
                        + " per proof %.1f nodes read in %.1f us of SQL (mean); %s%n",
                threadCount,
                threadCount == 1 ? " " : "s",
                micros(h.getValueAtPercentile(50)),
                micros(h.getValueAtPercentile(99)),
                micros(h.getValueAtPercentile(99.9)),
                micros(h.getMaxValue()),
                n / (r.nanos() / 1e9),
                n,
                r.nodesRead() / (double) n,
                r.readNanos() / 1e3 / n,
                r.gc());
    }

    private static String micros(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1e3);
    }

    /** Each kept proof leads from its leaf, as stored, to the signed root. */
    private static void verify(SqliteStore store, SignedCheckpoint c, List<Kept> kept) {
        byte[] root = c.checkpoint().rootHash();
        for (Kept k : kept) {
            String leaf = store.entries(k.index(), k.index() + 1).getFirst();
            byte[] leafHash = Hashes.leaf(leaf.getBytes(StandardCharsets.UTF_8));
            ProofVerifier.verifyInclusion(k.index(), c.size(), leafHash, k.proof(), root);
        }
        System.out.printf(
                Locale.ROOT, "  verified %,d of those proofs against the signed checkpoint's root%n", kept.size());
    }

    private static String help() {
        return """
                Usage: bench/run ledger-proof [options]

                Inclusion-proof latency: Proofs.inclusion(random index, size, store.nodes()) on a
                SQLite store of each size, after a warm-up, from 1 thread and from several. Each
                store is built once through SqliteStore.write (big writes of realistic events,
                progress on stderr) and kept under bench/target/ledger-data/proof-SIZE; reruns
                reopen it. Every 20th measured proof is verified against the signed checkpoint's
                root. Prints the database's size on disk, the open time (the store checks the whole
                ledger at open), then per thread count p50/p99/p99.9/max in microseconds,
                proofs/s, and the nodes and SQL time per proof. Goal: <= 0.2 ms per proof.

                Options (defaults in brackets):
                  --sizes N,...          ledger sizes, one store each [1M,10M]
                  --proofs N             measured proofs per thread count [20000]
                  --warmup N             proofs from 1 thread first, not measured [5000]
                  --threads T,...        thread counts to measure (the store has 4 read
                                         connections) [1,2,4]
                  --cache DIR            where built stores are kept [bench/target/ledger-data]
                  --fill-writers W       concurrent writers while building [4]
                  --events-per-write K   events per write while building [1000]
                Numbers take k and M suffixes: 1M, 10M. Building takes minutes for 10M entries
                and several GB of disk; delete the directory to rebuild.
                """;
    }
}
