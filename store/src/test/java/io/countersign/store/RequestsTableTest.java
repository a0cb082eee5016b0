package io.countersign.store;

import static io.countersign.store.Demo.BOT;
import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.core.Request;
import io.countersign.core.RequestListener;
import io.countersign.core.RequestService;
import io.countersign.core.json.Json;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The requests table as SQLite holds it: its migration to a rowid table with a digest column, and its indexes. */
class RequestsTableTest {
    @TempDir
    Path dir;

    @Test
    void aDatabaseFromBeforeTheDigestColumnStillResumesItsOpenRequests() throws Exception {
        Request pending;
        try (SqliteStore source = open(dir.resolve("source.db"))) {
            pending = service(source)
                    .submitOrResume(BOT, Demo.piiExport("customers"))
                    .request();
        }
        Path db = dir.resolve("countersign.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
            Migrations.apply(c, "sqlite", 4); // as release 4 left it: WITHOUT ROWID, the digest only in doc
            insertAsVersion4Did(c, pending);
        }
        try (SqliteStore store = open(db)) {
            RequestService.Submitted again = service(store).submitOrResume(BOT, Demo.piiExport("customers"));
            assertThat(again.replayed()).isTrue();
            assertThat(again.request().id()).isEqualTo(pending.id());
            assertThat(Json.write(again.request())).isEqualTo(Json.write(pending));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
            assertThat(query(c, "SELECT digest FROM requests")).containsExactly(pending.digest());
            assertThat(query(c, "SELECT sql FROM sqlite_schema WHERE name = 'requests'"))
                    .singleElement()
                    .asString()
                    .doesNotContainIgnoringCase("WITHOUT ROWID");
        }
    }

    @Test
    void theLookupOfAnOpenRequestByDigestIsAnsweredFromItsIndex() throws Exception {
        Path db = dir.resolve("countersign.db");
        open(db).close();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
            assertThat(String.join("\n", plan(c, SqlTx.FIND_OPEN)))
                    .contains("USING INDEX requests_open_by_digest")
                    .doesNotContain("TEMP B-TREE");
        }
    }

    @Test
    void onlyRequestsHeldForApprovalEnterTheIndexByDigest() throws Exception {
        Path db = dir.resolve("countersign.db");
        Request allowed;
        Request held;
        try (SqliteStore store = open(db)) {
            allowed = service(store).submit(BOT, Demo.readQuery(), null).request();
            held = service(store)
                    .submitOrResume(BOT, Demo.piiExport("customers"))
                    .request();
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
            assertThat(query(c, "SELECT id || ' ' || needs_approval FROM requests ORDER BY id"))
                    .containsExactly(allowed.id().value() + " 0", held.id().value() + " 1");
            // The partial index's own rows: only the held request.
            assertThat(query(
                            c,
                            "SELECT id FROM requests INDEXED BY requests_open_by_digest WHERE requester = '" + BOT.id()
                                    + "' AND needs_approval = 1 AND state IN ('pending', 'approved')"))
                    .containsExactly(held.id().value());
        }
    }

    @Test
    void aSubmissionStoresItsDigestBesideItsDocument() throws Exception {
        Path db = dir.resolve("countersign.db");
        Request r;
        try (SqliteStore store = open(db)) {
            r = service(store).submit(BOT, Demo.readQuery(), null).request();
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
            assertThat(query(c, "SELECT digest = json_extract(doc, '$.digest') FROM requests"))
                    .containsExactly("1");
            assertThat(query(c, "SELECT digest FROM requests")).containsExactly(r.digest());
        }
    }

    @Test
    void aBatchSeesTheRequestsItsWorksInsertedAndDropsThoseOfAWorkThatFailed() throws Exception {
        Request kept;
        Request dropped;
        try (SqliteStore source = open(dir.resolve("source.db"))) {
            kept = service(source)
                    .submitOrResume(BOT, Demo.piiExport("customers"))
                    .request();
            dropped = service(source)
                    .submitOrResume(BOT, Demo.piiExport("orders"))
                    .request();
        }
        try (SqliteStore store = open(dir.resolve("countersign.db"))) {
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread holder = Thread.ofVirtual()
                    .start(() -> store.write(tx -> {
                        entered.countDown();
                        awaitUninterruptibly(release);
                        return null;
                    }));
            entered.await();
            // Queued behind the holder one after the other, these three go into one batch in this order.
            // Each work's result in its own slot: callers are woken in no particular order.
            java.util.concurrent.atomic.AtomicReferenceArray<Object> results =
                    new java.util.concurrent.atomic.AtomicReferenceArray<>(3);
            List<Thread> works = new ArrayList<>();
            works.add(queued(() -> results.set(0, store.write(tx -> {
                tx.insert(kept, Json.write(kept));
                return tx.find(kept.id()).orElseThrow().id();
            }))));
            works.add(queued(() -> {
                try {
                    store.write(tx -> {
                        tx.insert(dropped, Json.write(dropped));
                        throw new IllegalStateException("changed its mind");
                    });
                } catch (IllegalStateException expected) {
                    results.set(1, "failed");
                }
            }));
            works.add(queued(() -> results.set(
                    2,
                    store.write(tx -> List.of(
                            tx.findOpen(BOT.id(), kept.digest()).map(Request::id),
                            tx.findOpen(BOT.id(), dropped.digest()).map(Request::id),
                            tx.find(dropped.id()).map(Request::id))))));
            release.countDown();
            holder.join();
            for (Thread t : works) t.join();
            assertThat(List.of(results.get(0), results.get(1), results.get(2)))
                    .containsExactly(
                            kept.id(),
                            "failed",
                            List.of(
                                    java.util.Optional.of(kept.id()),
                                    java.util.Optional.empty(),
                                    java.util.Optional.empty()));
            assertThat(store.find(kept.id())).isPresent();
            assertThat(store.find(dropped.id())).isEmpty();
        }
    }

    /** Starts {@code r} on a virtual thread and returns once it waits (for the writer). */
    private static Thread queued(Runnable r) throws InterruptedException {
        Thread t = Thread.ofVirtual().start(r);
        while (t.getState() != Thread.State.WAITING) Thread.sleep(1);
        return t;
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void insertAsVersion4Did(Connection c, Request r) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(
                "INSERT INTO requests (id, requester, state, created_at, expires_at, doc) VALUES (?, ?, ?, ?, ?, ?)")) {
            s.setString(1, r.id().value());
            s.setString(2, r.requester().id());
            s.setString(3, r.state().wire());
            s.setLong(4, r.createdAt().toEpochMilli());
            s.setLong(5, r.expiresAt().toEpochMilli());
            s.setString(6, Json.write(r));
            s.executeUpdate();
        }
    }

    /** The first column of every row, as text. */
    private static List<String> query(Connection c, String sql) throws SQLException {
        return column(c, sql, 1);
    }

    /** The steps of SQLite's plan for {@code sql}, with its parameters left unbound. */
    private static List<String> plan(Connection c, String sql) throws SQLException {
        return column(c, "EXPLAIN QUERY PLAN " + sql, 4);
    }

    private static List<String> column(Connection c, String sql, int column) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(sql);
                ResultSet rs = s.executeQuery()) {
            List<String> out = new ArrayList<>();
            while (rs.next()) out.add(rs.getString(column));
            return out;
        }
    }

    private static SqliteStore open(Path db) {
        return SqliteStore.open(db, LedgerSettings.of(Demo.LEDGER_KEY));
    }

    private static RequestService service(SqliteStore store) {
        return new RequestService(
                Demo.examplePolicy(),
                store,
                Demo.DIRECTORY,
                Clock.systemUTC(),
                new SecureRandom(),
                RequestListener.NONE);
    }
}
