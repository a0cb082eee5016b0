package io.countersign.store;

import io.countersign.ledger.Checkpoint;
import io.countersign.ledger.CompactRange;
import io.countersign.ledger.Hashes;
import io.countersign.ledger.LedgerException;
import io.countersign.ledger.SignedCheckpoint;
import io.countersign.ledger.SignedNote;
import io.countersign.ledger.Subtree;
import io.countersign.ledger.VerifierKey;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The start-up check of the stored ledger against its last signed checkpoint.
 *
 * <p>Design notes. One pass over the events in index order recomputes every leaf hash from the
 * stored leaf bytes and rebuilds the tree; every subtree it completes is compared with the stored
 * node of that level, read through one cursor per level, so an edited, deleted, swapped or inserted
 * event, or an edited node, is found at its index. At the size of the last signed checkpoint, and at
 * the size of the checkpoint mirrored outside the database, the rebuilt root must equal the signed
 * root, and those checkpoints must be signed by a key this log trusts: a truncated log re-signed with
 * another key, a replaced signature, or a database rolled back to an older checkpoint is refused. The
 * first problem found is reported; the store then refuses writes.
 */
final class LedgerCheck {
    private static final Logger LOG = LoggerFactory.getLogger(LedgerCheck.class);
    private static final long PROGRESS_EVERY = 1_000_000;

    /**
     * What the check found.
     *
     * @param tree the tree rebuilt from the stored events (the sequencer continues from it)
     * @param latest the last signed checkpoint in the database, or null
     * @param problem what is wrong, or null when the ledger is intact
     */
    record Result(CompactRange tree, SignedCheckpoint latest, String problem) {}

    private final Connection c;
    private final List<VerifierKey> trusted;
    private String problem;

    private LedgerCheck(Connection c, List<VerifierKey> trusted) {
        this.c = c;
        this.trusted = trusted;
    }

    /** Checks the database behind {@code c}; {@code mirrored} is the checkpoint kept beside it, or null. */
    static Result run(Connection c, List<VerifierKey> trusted, String mirrored) throws SQLException {
        return new LedgerCheck(c, trusted).check(mirrored);
    }

    private Result check(String mirrored) throws SQLException {
        SignedCheckpoint latest = latestStored();
        SignedCheckpoint outside = mirrored == null ? null : open(mirrored, "the checkpoint file beside the database");
        long events = count("SELECT COUNT(*) FROM events");
        boolean noTree = count("SELECT COUNT(*) FROM (SELECT 1 FROM ledger_nodes LIMIT 1)") == 0;
        boolean adopting = noTree && latest == null && mirrored == null && problem == null;
        if (adopting && events > 0) LOG.info("bringing {} events recorded before the ledger existed into it", events);
        // The rebuild names the first bad index; the size checks below catch what it cannot see.
        CompactRange tree = rebuild(adopting, latest, outside);
        if (latest != null && latest.size() > events)
            fail("the database holds " + events + " events but its checkpoint signed " + latest.size()
                    + ": the log was truncated");
        if (outside != null && outside.size() > events)
            fail("the database holds " + events + " events but a checkpoint of " + outside.size()
                    + " was signed before: the database was rolled back or truncated");
        return new Result(tree, latest, problem);
    }

    private CompactRange rebuild(boolean adopting, SignedCheckpoint latest, SignedCheckpoint outside)
            throws SQLException {
        CompactRange tree = new CompactRange();
        Hashes hashes = new Hashes();
        List<byte[]> adopted = new ArrayList<>();
        java.util.Map<Long, String> rewritten = new java.util.TreeMap<>();
        try (StoredNodes stored = new StoredNodes(c);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT seq, body FROM events ORDER BY seq")) {
            while (rs.next()) {
                long index = tree.size();
                long seq = rs.getLong(1);
                if (seq != index) {
                    fail(
                            seq > index
                                    ? "event " + index + " is missing: the next stored event is " + seq
                                    : "event " + seq + " is stored twice");
                    break;
                }
                String body = rs.getString(2);
                if (adopting) { // never signed: give it the index every leaf carries before it is
                    String indexed = Sql.withIndex(body, index);
                    if (!indexed.equals(body)) rewritten.put(index, indexed);
                    body = indexed;
                }
                byte[] leaf = hashes.leafHash(body.getBytes(StandardCharsets.UTF_8));
                if (adopting) adopted.add(leaf);
                else tree.append(leaf, (level, i, hash) -> stored.expect(level, i, hash, this));
                if (adopting) tree.append(leaf);
                atSize(tree, latest, "its last signed checkpoint");
                atSize(tree, outside, "the checkpoint file beside the database");
                if (tree.size() % PROGRESS_EVERY == 0) LOG.info("ledger check: {} events verified", tree.size());
            }
            if (problem == null && !adopting) stored.expectNoMore(tree.size(), this);
        }
        if (adopting && !adopted.isEmpty()) adopt(adopted, rewritten);
        return tree;
    }

    private void atSize(CompactRange tree, SignedCheckpoint c, String what) {
        if (c != null
                && tree.size() == c.size()
                && !Hashes.same(tree.root(), c.checkpoint().rootHash()))
            fail("the events 0.." + (c.size() - 1) + " do not hash to the root of " + what + " (size " + c.size()
                    + "): an event was changed, removed, inserted or reordered");
    }

    /** Events from before the ledger: their nodes are written now, once, and signed at the next batch. */
    private void adopt(List<byte[]> leaves, java.util.Map<Long, String> rewritten) throws SQLException {
        try (PreparedStatement u = c.prepareStatement("UPDATE events SET body = ? WHERE seq = ?")) {
            for (var e : rewritten.entrySet()) {
                u.setString(1, e.getValue());
                u.setLong(2, e.getKey());
                u.addBatch();
            }
            u.executeBatch();
        }
        CompactRange tree = new CompactRange();
        try (PreparedStatement p = c.prepareStatement("INSERT INTO ledger_nodes (id, hash) VALUES (?, ?)")) {
            for (byte[] leaf : leaves) {
                tree.append(leaf, (level, i, hash) -> {
                    try {
                        p.setLong(1, Subtree.id(level, i));
                        p.setBytes(2, hash);
                        p.addBatch();
                    } catch (SQLException e) {
                        throw new LedgerException("cannot store node: " + e.getMessage(), e);
                    }
                });
            }
            p.executeBatch();
        }
        c.commit();
    }

    private SignedCheckpoint latestStored() throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")) {
            return rs.next() ? open(rs.getString(1), "the last signed checkpoint") : null;
        }
    }

    /** Opens a checkpoint with any trusted key; records a problem (and returns null) if none verifies it. */
    private SignedCheckpoint open(String note, String what) {
        for (VerifierKey k : trusted) {
            try {
                Checkpoint cp = SignedNote.openCheckpoint(note, k);
                return new SignedCheckpoint(cp, note);
            } catch (LedgerException e) {
                // try the next key
            }
        }
        fail(what + " is not signed by this log's key (" + trusted.getFirst()
                + "): it was replaced or re-signed with another key");
        return null;
    }

    private long count(String sql) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    void fail(String what) {
        if (problem == null) problem = what;
    }

    /**
     * One cursor over the stored nodes in key order, which is the order the rebuild completes them
     * ({@link Subtree#id}): each expected node must be the next one stored.
     */
    private static final class StoredNodes implements AutoCloseable {
        private final Statement statement;
        private final ResultSet nodes;

        StoredNodes(Connection c) throws SQLException {
            statement = c.createStatement();
            nodes = statement.executeQuery("SELECT id, hash FROM ledger_nodes ORDER BY id");
        }

        void expect(int level, long index, byte[] hash, LedgerCheck check) {
            try {
                if (!nodes.next()) {
                    check.fail(
                            level == 0
                                    ? "event " + index + " is not in the stored tree: it was added outside Countersign"
                                    : what(level, index) + " is missing from the stored tree");
                    return;
                }
                long id = nodes.getLong(1);
                if (id != Subtree.id(level, index)) {
                    check.fail(what(level, index) + " is missing from the stored tree (found " + found(id)
                            + " in its place)");
                } else if (!Hashes.same(nodes.getBytes(2), hash)) {
                    check.fail(
                            level == 0
                                    ? "event " + index + ": its bytes no longer hash to the leaf stored when it was"
                                            + " appended: the event was edited, swapped or replaced"
                                    : what(level, index)
                                            + " does not match the events under it: the stored tree was edited");
                }
            } catch (SQLException e) {
                throw new LedgerException("cannot read the stored tree: " + e.getMessage(), e);
            }
        }

        /** After {@code size} events: no stored node may be left over. */
        void expectNoMore(long size, LedgerCheck check) throws SQLException {
            if (nodes.next()) {
                long id = nodes.getLong(1);
                check.fail("the stored tree has " + found(id) + " but " + stored(size)
                        + ": events were deleted or the log was truncated");
                return;
            }
            long expected = 2 * size - Long.bitCount(size); // a tree of n leaves has this many complete subtrees
            try (Statement s = statement.getConnection().createStatement();
                    ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM ledger_nodes")) {
                rs.next();
                if (rs.getLong(1) != expected)
                    check.fail("the stored tree has " + rs.getLong(1) + " nodes where " + size + " events make "
                            + expected + ": events were deleted or nodes were added");
            }
        }

        /** What a stored id names, even an id no node can have. */
        private static String found(long id) {
            try {
                Subtree t = Subtree.of(id);
                return what(t.level(), t.index());
            } catch (IllegalArgumentException e) {
                return "a node with the impossible id " + id;
            }
        }

        /** A node as a reader of the problem would name it: by the events under it. */
        private static String what(int level, long index) {
            long first = index << level;
            return level == 0
                    ? "event " + index + "'s leaf"
                    : "the node over events " + first + " to " + (first + (1L << level) - 1);
        }

        private static String stored(long size) {
            if (size == 0) return "no event is stored";
            return size == 1 ? "only event 0 is stored" : "only events 0 to " + (size - 1) + " are stored";
        }

        @Override
        public void close() throws SQLException {
            nodes.close();
            statement.close();
        }
    }
}
