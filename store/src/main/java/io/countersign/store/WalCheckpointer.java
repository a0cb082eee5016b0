package io.countersign.store;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies SQLite's write-ahead log back into the database file from a connection of its own, so that
 * the writer thread seldom has to. (A WAL checkpoint, SQLite's term: nothing to do with the ledger's
 * signed checkpoints.)
 *
 * <p>Design notes. Left to itself, SQLite runs this copy inside the commit that takes the log past
 * 1,000 pages, on the writer thread: several milliseconds of reads, writes and an fsync of the
 * database file, during which every caller of that batch and of the batches queued behind it waits.
 * Here a PASSIVE checkpoint runs every {@link #INTERVAL} while the writer commits; it never blocks the
 * writer or the readers. The log starts again from its beginning only when a write transaction
 * begins with all of it copied, which under steady writes never happens by itself: this thread's copy
 * always trails the commits made while it ran. So once the log holds {@link #RESTART_PAGES}, and
 * right after this thread has copied all it saw, it asks the writer to copy what was committed
 * meanwhile ({@link GroupCommitter#restartLog}), between two batches; the writer's next transaction
 * then starts the log again. That copy and its sync of the database file stall the writer for a
 * millisecond or a few (measured at 5,000 submissions a second: 0.9 to 7.1 ms, median 3.3, with 64 MiB
 * of log; SQLite's own automatic checkpoint on the writer took 4 to 16 ms). The first copy of a long
 * log takes this thread several milliseconds, and the writer commits all the while; so before asking,
 * it copies again, {@link #CATCH_UP} times back to back, what was committed while the previous copy
 * ran, each time less, and leaves the writer a commit or two to copy instead of a few dozen: with 16
 * MiB of log the writer's stall fell from a median of 2.2 to 2.6 ms to 0.85 to 1.0 ms (p90 3.0 to 3.8
 * ms to 2.2 to 3.1, three runs each, alternated). What is left is mostly the two syncs. A shorter log restarts
 * more often but keeps every page lookup in SQLite's log index short: with 16 MiB
 * ({@link #RESTART_PAGES}) the log restarted 5.5 times a second against 1.5 with 64 MiB, and {@code
 * bench/run http} gave p99 4.40 to 4.96 ms (mean 4.63, five runs) against 4.54 to 5.30 (mean 4.95,
 * seven); with 256 MiB, 5.63 and 5.76; with 8 MiB, no better than 16. The writer keeps an automatic
 * checkpoint at {@link #WRITER_PAGES} only as a backstop, should this thread fall behind. Durability
 * does not depend on any of this: a commit is in the log, synced ({@code synchronous=FULL}), before it
 * is acknowledged.
 */
final class WalCheckpointer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WalCheckpointer.class);
    static final Duration INTERVAL = Duration.ofMillis(50);
    /** The log's length, in pages, from which the writer is asked to start it again (16 MiB at 4 KiB pages). */
    static final int RESTART_PAGES = 4_096;
    /** The writer's own automatic checkpoint, a backstop, in pages of log (32 MiB at 4 KiB pages). */
    static final int WRITER_PAGES = 2 * RESTART_PAGES;
    /** Further copies, back to back, of what was committed while the previous one ran, before asking. */
    static final int CATCH_UP = 2;

    private final Connection connection;
    private final LongSupplier commits;
    private final Runnable restartLog;
    private final int restartPages;
    private final Thread thread;
    private volatile boolean closed;

    /**
     * Checkpoints through {@code connection} (which it closes) whenever {@code commits} has moved on, and
     * calls {@code restartLog} when the log is long and all of it that this thread saw is copied.
     */
    WalCheckpointer(Connection connection, LongSupplier commits, Runnable restartLog) {
        this(connection, commits, restartLog, RESTART_PAGES);
    }

    /** With another length of log from which to ask for a restart (tests). */
    WalCheckpointer(Connection connection, LongSupplier commits, Runnable restartLog, int restartPages) {
        this.connection = connection;
        this.commits = commits;
        this.restartLog = restartLog;
        this.restartPages = restartPages;
        this.thread =
                Thread.ofPlatform().name("countersign-sqlite-wal").daemon(true).start(this::run);
    }

    private void run() {
        long seen = commits.getAsLong();
        while (!closed) {
            try {
                Thread.sleep(INTERVAL);
            } catch (InterruptedException e) {
                return;
            }
            long now = commits.getAsLong();
            if (now != seen) checkpoint();
            seen = now;
        }
    }

    private void checkpoint() {
        try {
            int[] r = passive();
            if (r[0] != 0 || r[1] < restartPages || r[2] != r[1]) return;
            for (int i = 0; i < CATCH_UP; i++) {
                r = passive();
                if (r[0] != 0 || r[2] != r[1]) return;
            }
            restartLog.run();
        } catch (SQLException e) {
            // The writer's own automatic checkpoint still keeps the log in bounds.
            LOG.warn("WAL checkpoint failed: {}", e.getMessage());
        }
    }

    /** 1 if it was blocked, the pages in the log, the pages of the log now copied back. */
    private int[] passive() throws SQLException {
        try (Statement s = connection.createStatement();
                ResultSet rs = s.executeQuery("PRAGMA wal_checkpoint(PASSIVE)")) {
            rs.next();
            return new int[] {rs.getInt(1), rs.getInt(2), rs.getInt(3)};
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(10_000);
            connection.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (SQLException e) {
            LOG.warn("closing the WAL checkpoint connection failed: {}", e.getMessage());
        }
    }
}
