package io.countersign.bench;

import io.countersign.core.LedgerEvent;
import io.countersign.ledger.Proofs;
import io.countersign.ledger.SignedCheckpoint;
import io.countersign.store.GroupCommitter;
import io.countersign.store.SqliteStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * Durable, batched append throughput of ledger events through {@link SqliteStore#write}: {@code
 * --writers} virtual threads each write {@code --per-write} events per write, as fast as the store
 * takes them, until {@code --events} are in. The store's single writer group-commits the queued
 * writes (up to 256 per transaction, one fsync each, the events folded into the Merkle tree in the
 * same transaction). Reports events/s, writes/s, commits and write latency. The goal is at
 * least 50,000 events/s.
 *
 * <p>Each {@code --per-write} value runs on its own fresh store, after a warm-up on that store. The
 * events are built on the calling threads (the request service builds its own inside the write, on
 * the store's writer thread); the store canonicalises and hashes them on the writer thread.
 */
public final class LedgerAppendLoad {
    private static final Set<String> FLAGS = Set.of("events", "writers", "per-write", "warmup-events", "data", "clock");

    /** Where the writers' event times, and so their request ids, come from (see {@link SubmissionEvents}). */
    private enum Times {
        SHARED,
        PER_WRITER
    }

    private final long events;
    private final int writers;
    private final List<Long> perWrite;
    private final long warmupEvents;
    private final Path under;
    private final Times times;

    private LedgerAppendLoad(Flags flags) {
        this.events = flags.counts("events", List.of(200_000L), 1).getFirst();
        this.writers = flags.count("writers", 256, 1);
        this.perWrite = flags.counts("per-write", List.of(1L, 3L), 1);
        this.warmupEvents = flags.counts("warmup-events", List.of(30_000L), 0).getFirst();
        this.under = Path.of(flags.text("data", System.getProperty("java.io.tmpdir")));
        this.times = flags.choice("clock", Times.SHARED);
    }

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--help")) {
            System.out.println(help());
            return;
        }
        LedgerAppendLoad load;
        try {
            load = new LedgerAppendLoad(new Flags(args, FLAGS));
        } catch (IllegalArgumentException e) {
            System.err.println("ledger-append: " + e.getMessage());
            System.exit(2);
            return;
        }
        for (long k : load.perWrite) load.run((int) k);
        System.exit(0);
    }

    private void run(int k) throws InterruptedException {
        Path dir = LedgerData.tempDir(under, "countersign-ledger-append-");
        try (SqliteStore store = LedgerData.openStore(dir)) {
            System.out.printf(
                    Locale.ROOT,
                    "%nLedgerAppendLoad: %,d events in writes of %d, %d virtual-thread writers (%s clock), SQLite"
                            + " synchronous=FULL at %s; %s%n",
                    events,
                    k,
                    writers,
                    times.name().toLowerCase(Locale.ROOT).replace('_', '-'),
                    store.file(),
                    Report.load());
            phase(store, k, warmupEvents, 1);
            Measured m = phase(store, k, events, 2);
            print(store, k, m);
        } finally {
            LedgerData.delete(dir);
        }
    }

    /** What one phase did. */
    private record Measured(
            long writes,
            long nanos,
            Histogram latency,
            GroupCommitter.Stats before,
            GroupCommitter.Stats after,
            long cpu,
            String gc) {}

    private Measured phase(SqliteStore store, int k, long eventCount, long seed) throws InterruptedException {
        long writes = (eventCount + k - 1) / k;
        AtomicLong remaining = new AtomicLong(writes);
        List<Histogram> histograms = new ArrayList<>();
        List<Future<?>> tasks = new ArrayList<>();
        GroupCommitter.Stats before = store.writeStats();
        long cpu = Report.processCpuNanos();
        Report.GcTotals gc = Report.GcTotals.now();
        SubmissionEvents.Clock clock = times == Times.SHARED ? new SubmissionEvents.Clock() : null;
        long start = System.nanoTime();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int w = 0; w < writers; w++) {
                Histogram h = Report.micros();
                histograms.add(h);
                SubmissionEvents source = new SubmissionEvents(seed * 1_000_003 + w, clock);
                tasks.add(threads.submit(() -> write(store, source, k, remaining, h)));
            }
        }
        long nanos = System.nanoTime() - start;
        Tasks.joinAll(tasks);
        Histogram all = Report.micros();
        histograms.forEach(all::add);
        return new Measured(
                writes,
                nanos,
                all,
                before,
                store.writeStats(),
                Report.processCpuNanos() - cpu,
                Report.GcTotals.now().since(gc));
    }

    private static void write(SqliteStore store, SubmissionEvents source, int k, AtomicLong remaining, Histogram h) {
        while (remaining.getAndDecrement() > 0) {
            List<LedgerEvent> batch = source.next(k);
            long t0 = System.nanoTime();
            store.write(tx -> {
                for (LedgerEvent e : batch) tx.append(e);
                return null;
            });
            h.recordValue(Math.max(1, (System.nanoTime() - t0) / 1_000));
        }
    }

    private void print(SqliteStore store, int k, Measured m) {
        double seconds = m.nanos() / 1e9;
        long commits = m.after().commits() - m.before().commits();
        long works = m.after().works() - m.before().works();
        long appended = m.writes() * k;
        System.out.printf(
                Locale.ROOT,
                "events/s %,.0f  writes/s %,.0f  (%,d events in %,d writes of %d, %.2f s)%n",
                appended / seconds,
                m.writes() / seconds,
                appended,
                m.writes(),
                k,
                seconds);
        System.out.printf(
                Locale.ROOT,
                "commits %,d (%,.0f/s): %.1f writes = %.1f events per commit (the writer takes at most 256 writes)%n",
                commits,
                commits / seconds,
                works / (double) commits,
                works * k / (double) commits);
        System.out.println("write latency: " + Report.latencies(m.latency()));
        long writerCpu = m.after().writerCpuNanos() - m.before().writerCpuNanos();
        if (m.before().writerCpuNanos() >= 0) {
            System.out.printf(
                    Locale.ROOT,
                    "writer thread CPU %.1f s (%.1f us per event, %.1f us per write; busy %.0f%% of the run)%n",
                    writerCpu / 1e9,
                    writerCpu / 1e3 / appended,
                    writerCpu / 1e3 / m.writes(),
                    100.0 * writerCpu / m.nanos());
        }
        System.out.printf(
                Locale.ROOT,
                "CPU %.1f s of this JVM (%.1f us per event); %s; ledger now %,d events, %s on disk%n",
                m.cpu() / 1e9,
                m.cpu() / 1e3 / appended,
                m.gc(),
                store.ledgerSize(),
                Report.mib(LedgerData.bytesUnder(store.file().getParent())));
        checkTree(store);
    }

    /** The checkpoint signed after the run covers every event and its root is the stored tree's. */
    private static void checkTree(SqliteStore store) {
        SignedCheckpoint c = store.checkpointNow().orElseThrow();
        boolean same = c.size() == store.ledgerSize()
                && java.util.Arrays.equals(c.checkpoint().rootHash(), Proofs.root(c.size(), store.nodes()));
        if (!same) throw new IllegalStateException("the signed checkpoint does not match the stored tree: " + c);
        System.out.printf(Locale.ROOT, "checked: checkpoint of %,d events matches the stored tree's root%n", c.size());
    }

    private static String help() {
        return """
                Usage: bench/run ledger-append [options]

                Durable append throughput of ledger events through SqliteStore.write: W virtual
                threads each do writes of K events (one store.write, K tx.append) until N events
                are in, on a fresh temporary SQLite store (WAL, synchronous=FULL). The single
                writer group-commits up to 256 queued writes per transaction. Prints events/s,
                writes/s, commits and events per commit, write latency p50/p90/p99/p99.9/max, and
                CPU per event: the writer thread's (every write goes through it, so its CPU per
                write bounds the throughput) and the whole JVM's. Goal: >= 50,000 events/s.

                Options (defaults in brackets):
                  --events N          events to append in the measured phase [200k]
                  --writers W         concurrent writers, one virtual thread each [256]
                  --per-write K,...   events per write, one fresh store per value; 1 is a
                                      request.submitted event, 3 a whole submission [1,3]
                  --warmup-events N   events appended first, on the same store, not measured [30k]
                  --data DIR          where the temporary data directory is made [the system
                                      temp dir]; /dev/shm shows the cost without the disk's fsync
                  --clock C           shared: every writer stamps its events from one clock, as
                                      the server does, so request ids (time first) arrive nearly
                                      in order; per-writer: each writer's time drifts on its own
                                      and every id lands elsewhere in the events-by-request index,
                                      a page written per event [shared]
                Numbers take k and M suffixes: 200k, 1M.
                """;
    }
}
