package io.countersign.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The WAL checkpointer, on a database of its own: a writer connection with no automatic checkpoint. */
class WalCheckpointerTest {
    @TempDir
    Path dir;

    @Test
    void asksTheWriterToStartTheLogAgainOnceItHasCopiedALongOne() throws Exception {
        String url = "jdbc:sqlite:" + dir.resolve("wal.db");
        try (Connection writer = DriverManager.getConnection(url);
                Statement w = writer.createStatement()) {
            w.execute("PRAGMA journal_mode = WAL");
            w.execute("PRAGMA wal_autocheckpoint = 0");
            w.execute("CREATE TABLE t (x BLOB)");
            AtomicLong commits = new AtomicLong();
            for (int i = 0; i < 200; i++) {
                w.execute("INSERT INTO t VALUES (zeroblob(4000))");
                commits.incrementAndGet();
            }
            assertThat(java.nio.file.Files.size(dir.resolve("wal.db-wal"))).isGreaterThan(200 * 4096);
            CountDownLatch asked = new CountDownLatch(1);
            try (WalCheckpointer c =
                    new WalCheckpointer(DriverManager.getConnection(url), commits::get, asked::countDown, 100)) {
                assertThat(askedWhileCommitting(asked, commits, 10_000)).isTrue();
            }
            // What the writer then does between two batches: copy the rest, and its next write starts the log again.
            w.execute("PRAGMA wal_checkpoint(PASSIVE)");
            w.execute("INSERT INTO t VALUES (1)");
            assertThat(logPages(url)).isLessThan(10);
        }
    }

    @Test
    void leavesAShortLogToGrow() throws Exception {
        String url = "jdbc:sqlite:" + dir.resolve("wal.db");
        try (Connection writer = DriverManager.getConnection(url);
                Statement w = writer.createStatement()) {
            w.execute("PRAGMA journal_mode = WAL");
            w.execute("PRAGMA wal_autocheckpoint = 0");
            w.execute("CREATE TABLE t (x BLOB)");
            w.execute("INSERT INTO t VALUES (zeroblob(4000))");
            AtomicLong commits = new AtomicLong();
            CountDownLatch asked = new CountDownLatch(1);
            try (WalCheckpointer c =
                    new WalCheckpointer(DriverManager.getConnection(url), commits::get, asked::countDown, 100)) {
                assertThat(askedWhileCommitting(asked, commits, 500)).isFalse();
            }
        }
    }

    /** Whether {@code asked} was counted down within {@code millis}, with the commit count moving on meanwhile. */
    private static boolean askedWhileCommitting(CountDownLatch asked, AtomicLong commits, long millis)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            commits.incrementAndGet(); // the checkpointer copies only once the writer has moved on
            if (asked.await(20, TimeUnit.MILLISECONDS)) return true;
        }
        return false;
    }

    /** Pages in the log now, as a PASSIVE checkpoint from another connection reports them. */
    private static int logPages(String url) throws SQLException {
        try (Connection c = DriverManager.getConnection(url);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("PRAGMA wal_checkpoint(PASSIVE)")) {
            rs.next();
            return rs.getInt(2);
        }
    }
}
