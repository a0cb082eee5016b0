package io.countersign.store;

import io.countersign.core.spi.RequestStore.Work;
import io.countersign.core.spi.StorageException;
import io.countersign.ledger.SignedCheckpoint;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single writer. Callers enqueue a work and block (on their virtual thread) until the
 * transaction holding it has committed. The writer drains up to {@link #MAX_BATCH} queued works
 * (when writes arrive back to back, after letting the first wait a moment for company: {@link #LINGER_NANOS}),
 * runs each inside its own savepoint, set when the work first writes (a work that throws is rolled
 * back alone and its caller gets the exception), then commits once. If the commit fails, every caller in the batch gets a
 * {@link StorageException} and nothing of the batch is kept. Before committing, the {@link
 * Sequencer} folds the batch's events into the ledger tree in the same transaction; when the writer is
 * idle it still signs a checkpoint once one is due.
 *
 * <p>Everything that does not depend on the order of writes is done before a work is queued, on its
 * caller's thread (a new request's JSON, its events' canonical leaves): this thread's time per work
 * bounds the store's throughput. Rows the batch adds in bulk (new requests, events, tree nodes) wait
 * in {@link SqlTx} and go in with a few multi-row INSERTs just before the commit, so that a typical
 * submission writes nothing while it runs and needs no savepoint.
 */
public final class GroupCommitter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCommitter.class);
    static final int MAX_BATCH = 256;

    /**
     * How long a write may wait for others to share its commit, when writes arrive back to back. A
     * commit's fixed cost (its fsync, and the write-ahead log's pages that every commit rewrites: the
     * tables' and the ledger tree's last pages) dwarfs what each write adds, so under a steady stream
     * of small batches the writer spends most of a core on commits that could have been shared: at
     * 5,000 submissions a second, waiting this long took batches from about 2 writes to 3, the
     * writer's CPU per write from about 105 us to 75 and the whole process's from 1.55 cores to 1.3,
     * and with it everyone's latency. A write is committed at
     * once when the writer has been idle for {@code 2 x LINGER_NANOS}, or when its last commit held one
     * write and none came while it ran: a lone caller writing back to back (the MCP gateway's one agent)
     * would only wait for company that cannot come.
     */
    static final long LINGER_NANOS = 300_000;

    /** Writes queued at which a lingering writer stops waiting. */
    static final int LINGER_BATCH = 32;

    private final Connection connection;
    private final Sequencer sequencer;
    private final Consumer<SignedCheckpoint> onCheckpoint;
    private final SqlTx tx;
    private final Savepoints savepoints;
    private final LinkedBlockingQueue<Pending<?>> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final AtomicLong works = new AtomicLong();
    private final AtomicLong commits = new AtomicLong();
    private volatile boolean closed;
    private volatile boolean restartLog;
    private long lastCommit = Long.MIN_VALUE / 2;
    /** Whether the last commit was shared, or a write came while it ran: more than one writer is about. */
    private boolean company;

    private volatile boolean lingering;

    GroupCommitter(Connection connection, Sequencer sequencer, Consumer<SignedCheckpoint> onCheckpoint) {
        this.connection = connection;
        this.sequencer = sequencer;
        this.onCheckpoint = onCheckpoint;
        this.tx = new SqlTx(connection, sequencer);
        this.savepoints = new Savepoints(connection);
        try {
            connection.setAutoCommit(false);
        } catch (SQLException e) {
            throw new StorageException("cannot start the writer: " + e.getMessage(), e);
        }
        this.thread = Thread.ofPlatform()
                .name("countersign-sqlite-writer")
                .daemon(true)
                .start(this::run);
    }

    /**
     * Counters for metrics.
     *
     * @param works works committed
     * @param commits transactions committed
     * @param writerCpuNanos CPU time the writer thread has used, or -1 where the JVM cannot tell: every
     *     write is serialised through it, so its CPU per write bounds the store's throughput
     */
    public record Stats(long works, long commits, long writerCpuNanos) {}

    Stats stats() {
        return new Stats(works.get(), commits.get(), writerCpuNanos());
    }

    /** Transactions committed so far. */
    long commits() {
        return commits.get();
    }

    private long writerCpuNanos() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        return threads.isThreadCpuTimeSupported() ? threads.getThreadCpuTime(thread.threadId()) : -1;
    }

    <T> T submit(Work<T> work) {
        if (closed) throw new StorageException("the store is closed", null);
        Pending<T> p = new Pending<>(work);
        queue.add(p);
        if (lingering && queue.size() >= LINGER_BATCH) LockSupport.unpark(thread);
        try {
            return p.result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException("interrupted while waiting for the write to commit", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new StorageException("write failed: " + e.getCause(), e.getCause());
        }
    }

    private void run() {
        List<Pending<?>> batch = new ArrayList<>(MAX_BATCH);
        while (!closed || !queue.isEmpty()) {
            try {
                Pending<?> first = queue.poll(50, java.util.concurrent.TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (sequencer.checkpointOverdue()) commit(batch);
                    continue;
                }
                linger(first);
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                commit(batch);
                if (restartLog) checkpointLog();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                batch.clear();
            }
        }
    }

    /** With writes arriving back to back, lets {@code first} wait up to {@link #LINGER_NANOS} for company. */
    private void linger(Pending<?> first) {
        long now = System.nanoTime();
        if (!company || now - lastCommit > 2 * LINGER_NANOS) return;
        lingering = true;
        try {
            long until = first.queued + LINGER_NANOS;
            while (queue.size() < LINGER_BATCH && (now = System.nanoTime()) < until && !closed)
                LockSupport.parkNanos(until - now);
        } finally {
            lingering = false;
        }
    }

    private void commit(List<Pending<?>> batch) {
        SignedCheckpoint made;
        try {
            for (Pending<?> p : batch) p.runIn(savepoints, tx, sequencer);
            tx.insertRequests();
            sequencer.integrate(tx);
            connection.commit();
            lastCommit = System.nanoTime();
            company = batch.size() > 1 || !queue.isEmpty();
            made = sequencer.committed();
            works.addAndGet(batch.size());
            commits.incrementAndGet();
        } catch (SQLException | RuntimeException e) {
            LOG.error("commit of {} writes failed; none kept: {}", batch.size(), e.toString());
            sequencer.abandon();
            tx.clearBatches();
            rollback();
            StorageException failure = new StorageException("the write could not be committed: " + e.getMessage(), e);
            batch.forEach(p -> p.result.completeExceptionally(failure));
            return;
        }
        if (batch.size() == 1) batch.getFirst().complete(); // one wake-up either way: no hop through another thread
        else acknowledge(List.copyOf(batch));
        if (made != null) checkpointed(made);
    }

    /**
     * Asks the writer to copy the rest of SQLite's write-ahead log back into the database between two
     * batches, so that its next transaction starts the log again ({@link WalCheckpointer}).
     */
    void restartLog() {
        restartLog = true;
    }

    /** Between batches, with no transaction open: a PASSIVE checkpoint on the writer's own connection. */
    private void checkpointLog() {
        restartLog = false;
        try (java.sql.Statement s = connection.createStatement()) {
            s.execute("PRAGMA wal_checkpoint(PASSIVE)");
        } catch (SQLException e) {
            LOG.warn("WAL checkpoint on the writer failed: {}", e.getMessage());
        }
    }

    /**
     * Wakes the callers of a committed batch from a virtual thread, so that the writer can start on
     * the next batch. From this platform thread each wake-up would be an external submission to the
     * virtual-thread scheduler, microseconds each and up to {@link #MAX_BATCH} per batch.
     */
    private static void acknowledge(List<Pending<?>> done) {
        Thread.ofVirtual().name("countersign-sqlite-ack").start(() -> done.forEach(Pending::complete));
    }

    private void checkpointed(SignedCheckpoint c) {
        try {
            onCheckpoint.accept(c);
        } catch (RuntimeException e) {
            LOG.error("after checkpoint {}: {}", c.size(), e.toString());
        }
    }

    private void rollback() {
        try {
            connection.rollback();
        } catch (SQLException e) {
            LOG.error("rollback failed: {}", e.toString());
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            thread.join(10_000);
            connection.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (SQLException e) {
            LOG.warn("closing the write connection failed: {}", e.getMessage());
        }
    }

    /** One savepoint name, its three statements prepared once (the driver's own would prepare them per write). */
    static final class Savepoints {
        private final java.sql.PreparedStatement set;
        private final java.sql.PreparedStatement release;
        private final java.sql.PreparedStatement rollback;

        Savepoints(Connection c) {
            try {
                set = c.prepareStatement("SAVEPOINT work");
                release = c.prepareStatement("RELEASE work");
                rollback = c.prepareStatement("ROLLBACK TO work");
            } catch (SQLException e) {
                throw new StorageException("cannot prepare the writer's savepoints: " + e.getMessage(), e);
            }
        }

        void set() throws SQLException {
            set.execute();
        }

        void release() throws SQLException {
            release.execute();
        }

        void rollback() throws SQLException {
            rollback.execute();
        }
    }

    /** One queued work, its outcome inside the batch, and the future its caller waits on. */
    private static final class Pending<T> {
        final Work<T> work;
        final CompletableFuture<T> result = new CompletableFuture<>();
        final long queued = System.nanoTime();
        private T value;
        private RuntimeException failure;

        Pending(Work<T> work) {
            this.work = work;
        }

        void runIn(Savepoints sp, SqlTx tx, Sequencer sequencer) throws SQLException {
            int mark = sequencer.mark();
            tx.beginWork(sp);
            try {
                value = work.run(tx);
                if (tx.endWork()) sp.release();
            } catch (RuntimeException e) {
                tx.dropWork();
                if (tx.endWork()) {
                    sp.rollback();
                    sp.release();
                }
                sequencer.rollbackTo(mark);
                failure = e;
            }
        }

        void complete() {
            if (failure != null) result.completeExceptionally(failure);
            else result.complete(value);
        }
    }
}
