package io.countersign.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.LedgerEvent;
import io.countersign.core.Request;
import io.countersign.core.RequestListener;
import io.countersign.core.RequestService;
import io.countersign.core.Verdict;
import io.countersign.core.json.Json;
import io.countersign.core.testing.MutableClock;
import io.countersign.ledger.CompactRange;
import io.countersign.ledger.Hashes;
import io.countersign.ledger.ProofVerifier;
import io.countersign.ledger.Proofs;
import io.countersign.ledger.SignedCheckpoint;
import io.countersign.ledger.SignedNote;
import io.countersign.ledger.SigningKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ledger inside the SQLite store: every event is a leaf in commit order, checkpoints are signed
 * per batch, proofs come from stored nodes, and each way of tampering with the file is caught when it
 * is opened again. Real SQLite files throughout; tampering is done with plain SQL, as an attacker with
 * the file would.
 */
class LedgerStoreTest {
    @TempDir
    Path dir;

    final MutableClock clock = new MutableClock(Instant.parse("2026-11-21T09:00:00Z"));
    SqliteStore store;

    Path db() {
        return dir.resolve("countersign.db");
    }

    SqliteStore open() {
        LedgerSettings s = new LedgerSettings(Demo.LEDGER_KEY, List.of(), Duration.ofSeconds(1), 10_000, clock);
        store = SqliteStore.open(db(), s);
        return store;
    }

    @AfterEach
    void close() {
        if (store != null) store.close();
    }

    RequestService service() {
        return new RequestService(
                Demo.examplePolicy(), store, Demo.DIRECTORY, clock, new SecureRandom(), RequestListener.NONE);
    }

    /** Three requests, one approved by two people after its owner was refused: a dozen events. */
    long history() {
        RequestService service = service();
        Request r = service.submit(Demo.BOT, Demo.piiExport("customers"), null).request();
        try {
            service.review(r.id(), Demo.ALICE, Verdict.APPROVE, "I own the bot", "cli", r.digest());
        } catch (RuntimeException refused) {
            // the owner's approval is refused, and the refusal is an event too
        }
        service.review(r.id(), Demo.BOB, Verdict.APPROVE, "ok", "cli", r.digest());
        service.review(r.id(), Demo.CAROL, Verdict.APPROVE, "ok", "cli", r.digest());
        service.submit(Demo.ETL, Demo.readQuery(), null);
        service.submit(Demo.BOT, Demo.piiExport("orders"), null);
        return store.ledgerSize();
    }

    @Test
    void everyEventIsALeafInCommitOrderCarryingItsIndex() {
        open();
        long n = history();
        assertThat(n).isGreaterThanOrEqualTo(10);
        List<String> entries = store.entries(0, n);
        assertThat(entries).hasSize((int) n);
        for (int i = 0; i < n; i++) {
            JsonNode e = parse(entries.get(i));
            assertThat(e.get("index").asLong()).isEqualTo(i);
            assertThat(entries.get(i)).doesNotContain("\"params\"");
        }
        assertThat(parse(entries.getFirst()).get("type").asText()).isEqualTo("request.submitted");
    }

    @Test
    void aCheckpointIsSignedOnlyOnceItIsDueAndCoversEverythingBeforeIt() {
        open();
        long n = history();
        assertThat(store.latestCheckpoint()).isEmpty(); // interval not yet passed on the test clock
        clock.advance(Duration.ofSeconds(2));
        SignedCheckpoint c = store.checkpointNow().orElseThrow();
        assertThat(c.size()).isEqualTo(n);
        assertThat(SignedNote.openCheckpoint(c.note(), Demo.LEDGER_KEY.verifierKey()))
                .isEqualTo(c.checkpoint());
        CompactRange recomputed = new CompactRange();
        store.entries(0, n).forEach(e -> recomputed.append(Hashes.leaf(e.getBytes(StandardCharsets.UTF_8))));
        assertThat(c.checkpoint().rootHash()).isEqualTo(recomputed.root());
    }

    @Test
    void theIdleWriterSignsAnOverdueCheckpointByItself() throws Exception {
        open();
        long n = history();
        clock.advance(Duration.ofSeconds(2));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (store.latestCheckpoint().isEmpty() && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(store.latestCheckpoint())
                .get()
                .extracting(SignedCheckpoint::size)
                .isEqualTo(n);
    }

    @Test
    void proofsFromStoredNodesVerifyAgainstTheSignedRoot() {
        open();
        history();
        history();
        clock.advance(Duration.ofSeconds(2));
        SignedCheckpoint c = store.checkpointNow().orElseThrow();
        List<String> entries = store.entries(0, c.size());
        for (int i = 0; i < c.size(); i++) {
            byte[] leaf = Hashes.leaf(entries.get(i).getBytes(StandardCharsets.UTF_8));
            ProofVerifier.verifyInclusion(
                    i,
                    c.size(),
                    leaf,
                    Proofs.inclusion(i, c.size(), store.nodes()),
                    c.checkpoint().rootHash());
        }
        byte[] oldRoot = Proofs.root(5, store.nodes());
        ProofVerifier.verifyConsistency(
                5, c.size(), oldRoot, c.checkpoint().rootHash(), Proofs.consistency(5, c.size(), store.nodes()));
    }

    @Test
    void reopeningVerifiesTheTreeAndContinuesIt() {
        open();
        history();
        clock.advance(Duration.ofSeconds(2));
        SignedCheckpoint first = store.checkpointNow().orElseThrow();
        store.close();
        open();
        assertThat(store.integrityProblem()).isEmpty();
        assertThat(store.latestCheckpoint()).contains(first);
        history();
        clock.advance(Duration.ofSeconds(2));
        SignedCheckpoint second = store.checkpointNow().orElseThrow();
        assertThat(second.size()).isGreaterThan(first.size());
        ProofVerifier.verifyConsistency(
                first.size(),
                second.size(),
                first.checkpoint().rootHash(),
                second.checkpoint().rootHash(),
                Proofs.consistency(first.size(), second.size(), store.nodes()));
    }

    @Test
    void aTreeStoredUnderTheOldKeysIsReKeyedAndStillVerifies() throws Exception {
        SignedCheckpoint c = closedLog();
        // The database as version 6 left it: nodes keyed level << 48 | index.
        sql(
                "CREATE TABLE old_nodes AS SELECT id, hash FROM ledger_nodes",
                "DELETE FROM ledger_nodes",
                "INSERT INTO ledger_nodes (id, hash) SELECT ((id & 63) << 48) | ((((id >> 6) + 1) >> (id & 63)) - 1),"
                        + " hash FROM old_nodes",
                "DROP TABLE old_nodes",
                "DROP TABLE learned_links",
                "DELETE FROM schema_version WHERE version >= 7");
        open();
        assertThat(store.integrityProblem()).isEmpty();
        assertThat(store.latestCheckpoint()).contains(c);
        List<String> entries = store.entries(0, c.size());
        for (int i = 0; i < c.size(); i++) {
            ProofVerifier.verifyInclusion(
                    i,
                    c.size(),
                    Hashes.leaf(entries.get(i).getBytes(StandardCharsets.UTF_8)),
                    Proofs.inclusion(i, c.size(), store.nodes()),
                    c.checkpoint().rootHash());
        }
        history();
        clock.advance(Duration.ofSeconds(2));
        SignedCheckpoint next = store.checkpointNow().orElseThrow();
        ProofVerifier.verifyConsistency(
                c.size(),
                next.size(),
                c.checkpoint().rootHash(),
                next.checkpoint().rootHash(),
                Proofs.consistency(c.size(), next.size(), store.nodes()));
    }

    // ---- tampering -----------------------------------------------------------------------------

    /** A signed log of a few requests, closed; returns the checkpoint. */
    SignedCheckpoint closedLog() {
        open();
        history();
        clock.advance(Duration.ofSeconds(2));
        SignedCheckpoint c = store.checkpointNow().orElseThrow();
        store.close();
        store = null;
        return c;
    }

    void sql(String... statements) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db());
                Statement s = c.createStatement()) {
            for (String st : statements) s.execute(st);
        }
    }

    String problemOnReopen() throws InterruptedException {
        open();
        Optional<String> p = store.integrityProblem();
        assertThat(p).as("the tampering is found").isPresent();
        assertThatThrownBy(() -> history()).isInstanceOf(LedgerIntegrityException.class);
        // Nothing is ever signed over a ledger that failed its check, whether asked for or overdue.
        Optional<SignedCheckpoint> before = store.latestCheckpoint();
        clock.advance(Duration.ofSeconds(5));
        Thread.sleep(150); // the idle writer looks for overdue checkpoints every 50 ms
        assertThat(store.checkpointNow()).isEqualTo(before);
        assertThat(store.latestCheckpoint()).isEqualTo(before);
        return p.get();
    }

    @Test
    void findsAnEditedEvent() throws Exception {
        closedLog();
        sql("UPDATE events SET body = replace(body, '\"verdict\":\"approve\"', '\"verdict\":\"deny\"') WHERE seq = 4");
        assertThat(problemOnReopen()).contains("event 4").contains("edited");
    }

    @Test
    void findsADeletedEvent() throws Exception {
        closedLog();
        sql("DELETE FROM events WHERE seq = 3");
        assertThat(problemOnReopen()).contains("event 3 is missing");
    }

    @Test
    void findsTwoSwappedEvents() throws Exception {
        closedLog();
        sql(
                "UPDATE events SET seq = -1 WHERE seq = 2",
                "UPDATE events SET seq = 2 WHERE seq = 3",
                "UPDATE events SET seq = 3 WHERE seq = -1");
        assertThat(problemOnReopen()).contains("event 2").contains("swapped");
    }

    @Test
    void findsAForgedEventAppendedAtTheEnd() throws Exception {
        SignedCheckpoint c = closedLog();
        sql("INSERT INTO events (seq, request_id, type, at, body) VALUES (" + c.size()
                + ", 'req_x', 'request.approved', 0, '{\"index\":" + c.size() + "}')");
        assertThat(problemOnReopen()).contains("event " + c.size() + " is not in the stored tree");
    }

    @Test
    void findsATruncatedLogReSignedWithAnotherKey() throws Exception {
        SignedCheckpoint c = closedLog();
        long keep = c.size() - 3;
        SigningKey attacker = SigningKey.generate(Demo.LEDGER_KEY.name(), new SecureRandom());
        sql("DELETE FROM events WHERE seq >= " + keep, "DELETE FROM checkpoints");
        // Recompute the tree for the truncated events and sign it with the attacker's key.
        byte[] root = rootOfStoredEvents(keep);
        var forged = SignedCheckpoint.sign(new io.countersign.ledger.Checkpoint(attacker.name(), keep, root), attacker);
        try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + db());
                PreparedStatement p = conn.prepareStatement(
                        "INSERT INTO checkpoints (size, root, note, key, signed_at) VALUES (?, ?, ?, ?, 0)")) {
            p.setLong(1, keep);
            p.setBytes(2, root);
            p.setString(3, forged.note());
            p.setString(4, attacker.verifierKey().toString());
            p.executeUpdate();
        }
        assertThat(problemOnReopen()).contains("not signed by this log's key");
    }

    @Test
    void findsAReplacedCheckpointSignature() throws Exception {
        SignedCheckpoint c = closedLog();
        String note = c.note();
        int sig = note.lastIndexOf(' ') + 1;
        String flipped = note.substring(0, sig) + (note.charAt(sig) == 'A' ? 'B' : 'A') + note.substring(sig + 1);
        try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + db());
                PreparedStatement p = conn.prepareStatement("UPDATE checkpoints SET note = ? WHERE size = ?")) {
            p.setString(1, flipped);
            p.setLong(2, c.size());
            p.executeUpdate();
        }
        assertThat(problemOnReopen()).contains("not signed by this log's key");
    }

    @Test
    void findsADatabaseRolledBackToAnOlderCheckpoint() throws Exception {
        open();
        history();
        clock.advance(Duration.ofSeconds(2));
        SignedCheckpoint older = store.checkpointNow().orElseThrow();
        history();
        clock.advance(Duration.ofSeconds(2));
        store.checkpointNow();
        store.close();
        store = null;
        long n = older.size();
        // A consistent database as it was at the older checkpoint: only the file beside it knows better.
        sql(
                "DELETE FROM events WHERE seq >= " + n,
                "DELETE FROM checkpoints WHERE size > " + n,
                "DELETE FROM ledger_nodes WHERE (id >> 6) >= " + n); // nodes completed by a later event
        assertThat(problemOnReopen()).contains("rolled back");
    }

    @Test
    void findsTheLastEventsDeletedWithTheirNodesLeftBehind() throws Exception {
        SignedCheckpoint c = closedLog();
        long kept = c.size() - 2;
        sql("DELETE FROM events WHERE seq >= " + kept);
        assertThat(problemOnReopen())
                .contains("the stored tree has event " + kept + "'s leaf but only events 0 to " + (kept - 1)
                        + " are stored: events were deleted or the log was truncated");
    }

    @Test
    void findsAnEditedInteriorNode() throws Exception {
        closedLog();
        sql("UPDATE ledger_nodes SET hash = zeroblob(32) WHERE id = " + io.countersign.ledger.Subtree.id(1, 1));
        assertThat(problemOnReopen())
                .contains("the node over events 2 to 3 does not match the events under it: the stored tree was edited");
    }

    @Test
    void findsADeletedLeafAndSaysWhatIsInItsPlace() throws Exception {
        closedLog();
        sql("DELETE FROM ledger_nodes WHERE id = " + io.countersign.ledger.Subtree.id(0, 4));
        assertThat(problemOnReopen())
                .contains("event 4's leaf is missing from the stored tree (found event 5's leaf in its place)");
    }

    @Test
    void aFailedWorkGivesItsIndexesBack() {
        open();
        assertThatThrownBy(() -> store.write(tx -> {
                    tx.append(new io.countersign.core.LedgerEvent("test.event", null, clock.instant(), "t", null));
                    throw new IllegalStateException("changed my mind");
                }))
                .hasMessage("changed my mind");
        long n = history();
        List<String> entries = store.entries(0, n);
        for (int i = 0; i < n; i++)
            assertThat(parse(entries.get(i)).get("index").asLong()).isEqualTo(i);
        store.close();
        open();
        assertThat(store.integrityProblem()).isEmpty();
    }

    @Test
    void worksThatFailInsideABatchLeaveNeitherRowsNorGaps() throws Exception {
        open();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread first = Thread.ofVirtual()
                .start(() -> store.write(tx -> {
                    tx.append(event("first"));
                    entered.countDown();
                    awaitUninterruptibly(release);
                    return null;
                }));
        entered.await();
        // While the writer holds the first work, the others queue up and go into one batch together.
        List<Thread> others = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            int n = i;
            others.add(Thread.ofVirtual().start(() -> {
                try {
                    store.write(tx -> {
                        tx.append(event("w" + n));
                        tx.append(event("w" + n + "-second"));
                        if (n % 3 == 0) throw new IllegalStateException("work " + n + " changed its mind");
                        return null;
                    });
                } catch (IllegalStateException expected) {
                    // its events must not be in the ledger
                }
            }));
        }
        for (Thread t : others) while (t.getState() != Thread.State.WAITING) Thread.sleep(1);
        release.countDown();
        first.join();
        for (Thread t : others) t.join();

        long n = store.ledgerSize();
        assertThat(n).isEqualTo(1 + 2 * 13); // 7 of the 20 (0, 3, ..., 18) failed
        List<String> entries = store.entries(0, n);
        assertThat(entries).hasSize((int) n);
        for (int i = 0; i < n; i++) {
            JsonNode e = parse(entries.get(i));
            assertThat(e.get("index").asLong()).isEqualTo(i);
            String work = e.get("type").asText().replaceAll("-second$", "");
            if (!work.equals("first"))
                assertThat(Integer.parseInt(work.substring(1)) % 3).isNotZero();
        }
        store.close();
        open();
        assertThat(store.integrityProblem()).isEmpty();
    }

    @Test
    void copiesTheWriteAheadLogBackWithoutWaitingForTheWriter() throws Exception {
        open();
        long before = java.nio.file.Files.size(db());
        history();
        // Far from the writer's own automatic checkpoint: only the WalCheckpointer copies these pages.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (java.nio.file.Files.size(db()) == before && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(java.nio.file.Files.size(db())).isGreaterThan(before);
    }

    private LedgerEvent event(String type) {
        return new LedgerEvent(type, null, clock.instant(), "t", null);
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void eventsRecordedBeforeTheLedgerExistedAreBroughtIntoItWithTheirIndex() throws Exception {
        // A database as the first release left it: schema version 1, events without an index, seq from 1.
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db());
                Statement s = c.createStatement()) {
            s.execute(
                    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
            for (String st : new String(
                            LedgerStoreTest.class
                                    .getResourceAsStream("/db/sqlite/V1__requests.sql")
                                    .readAllBytes(),
                            StandardCharsets.UTF_8)
                    .split(";")) {
                if (!st.strip().isEmpty() && !st.strip().startsWith("--") || st.contains("CREATE")) s.execute(st);
            }
            s.execute("INSERT INTO schema_version VALUES (1, 'V1__requests.sql', 0)");
            s.execute("INSERT INTO events (seq, request_id, type, at, body) VALUES"
                    + " (1, 'req_a', 'request.submitted', 0, '{\"actor\":\"bot\",\"type\":\"request.submitted\"}'),"
                    + " (2, 'req_a', 'request.decided', 0, '{\"actor\":\"system\",\"type\":\"request.decided\"}')");
        }
        open();
        assertThat(store.integrityProblem()).isEmpty();
        assertThat(store.entries(0, 2))
                .containsExactly(
                        "{\"actor\":\"bot\",\"index\":0,\"type\":\"request.submitted\"}",
                        "{\"actor\":\"system\",\"index\":1,\"type\":\"request.decided\"}");
        history();
        clock.advance(Duration.ofSeconds(2));
        SignedCheckpoint c = store.checkpointNow().orElseThrow();
        store.close();
        open();
        assertThat(store.integrityProblem()).isEmpty();
        assertThat(store.latestCheckpoint()).contains(c);
    }

    private byte[] rootOfStoredEvents(long n) throws SQLException {
        CompactRange r = new CompactRange();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db());
                Statement s = c.createStatement();
                var rs = s.executeQuery("SELECT body FROM events WHERE seq < " + n + " ORDER BY seq")) {
            while (rs.next()) r.append(Hashes.leaf(rs.getString(1).getBytes(StandardCharsets.UTF_8)));
        }
        return r.root();
    }

    static JsonNode parse(String json) {
        try {
            return Json.mapper().readTree(json);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
