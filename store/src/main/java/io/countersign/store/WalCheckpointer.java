package io.countersign.store;

import java.sql.Connection;
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
 * begins with all of it copied, which under steady writes this thread rarely sees, so the writer
 * keeps an automatic checkpoint of its own at {@link #WRITER_PAGES} pages: by then nearly all of the
 * log is copied, and the log is reused instead of growing. Durability does not depend on any of this:
 * a commit is in the log, synced ({@code synchronous=FULL}), before it is acknowledged.
 */
final class WalCheckpointer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WalCheckpointer.class);
    static final Duration INTERVAL = Duration.ofMillis(50);
    /** The writer's own automatic checkpoint, in pages of log (16 MiB at 4 KiB pages). */
    static final int WRITER_PAGES = 4_000;

    private final Connection connection;
    private final LongSupplier commits;
    private final Thread thread;
    private volatile boolean closed;

    /** Checkpoints through {@code connection} (which it closes) whenever {@code commits} has moved on. */
    WalCheckpointer(Connection connection, LongSupplier commits) {
        this.connection = connection;
        this.commits = commits;
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
        try (Statement s = connection.createStatement()) {
            s.execute("PRAGMA wal_checkpoint(PASSIVE)");
        } catch (SQLException e) {
            // The writer's own automatic checkpoint still keeps the log in bounds.
            LOG.warn("WAL checkpoint failed: {}", e.getMessage());
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
