package io.countersign.store;

import io.countersign.core.LedgerEvent;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.RequestState;
import io.countersign.core.ToolPin;
import io.countersign.core.spi.RequestStore.IdempotentSubmission;
import io.countersign.core.spi.RequestStore.Tx;
import io.countersign.core.spi.StorageException;
import io.countersign.ledger.SignedCheckpoint;
import io.countersign.ledger.Subtree;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The writer's view of the database inside a transaction. Used only on the writer thread. */
final class SqlTx implements Tx {
    /** Rows of the largest multi-row INSERT: a power of two, and at 5 parameters a row far under SQLite's 32,766. */
    static final int ROWS_PER_INSERT = 64;

    private final Connection c;
    private final Sequencer sequencer;
    private final Map<String, PreparedStatement> statements = new HashMap<>();
    private final List<Node> pendingNodes = new ArrayList<>();

    SqlTx(Connection c, Sequencer sequencer) {
        this.c = c;
        this.sequencer = sequencer;
    }

    /** The transaction's connection, for the store's other tables (tool pins, deliveries). */
    Connection connection() {
        return c;
    }

    @Override
    public Optional<Request> find(RequestId id) {
        return run(() -> {
            PreparedStatement s = statement("SELECT doc FROM requests WHERE id = ?");
            s.setString(1, id.value());
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? Optional.of(Sql.request(rs.getString(1))) : Optional.empty();
            }
        });
    }

    @Override
    public void insert(Request r) {
        exec(
                "INSERT INTO requests (id, requester, state, created_at, expires_at, grant_expires_at, doc)"
                        + " VALUES (?, ?, ?, ?, ?, ?, ?)",
                s -> {
                    s.setString(1, r.id().value());
                    s.setString(2, r.requester().id());
                    s.setString(3, r.state().wire());
                    s.setLong(4, r.createdAt().toEpochMilli());
                    setNullableLong(
                            s, 5, r.expiresAt() == null ? null : r.expiresAt().toEpochMilli());
                    setNullableLong(s, 6, Sql.grantExpiry(r));
                    s.setString(7, Sql.doc(r));
                });
    }

    @Override
    public void update(Request r) {
        int n = execCount("UPDATE requests SET state = ?, grant_expires_at = ?, doc = ? WHERE id = ?", s -> {
            s.setString(1, r.state().wire());
            setNullableLong(s, 2, Sql.grantExpiry(r));
            s.setString(3, Sql.doc(r));
            s.setString(4, r.id().value());
        });
        if (n != 1) throw new StorageException("request " + r.id() + " to update does not exist", null);
    }

    /** Takes the event's index and leaf now; its row is inserted with the batch's ({@link #insertLeaves}). */
    @Override
    public void append(LedgerEvent e) {
        sequencer.appended(e, Sql.leaf(e, sequencer.nextIndex()));
    }

    /** Inserts the rows of the batch's appended events. */
    void insertLeaves(List<Sequencer.Leaf> leaves) {
        insertAll("INSERT INTO events (seq, request_id, type, at, body)", "(?, ?, ?, ?, ?)", leaves, (s, i, leaf) -> {
            LedgerEvent e = leaf.event();
            s.setLong(i, leaf.index());
            s.setString(i + 1, e.requestId() == null ? null : e.requestId().value());
            s.setString(i + 2, e.type());
            s.setLong(i + 3, e.at().toEpochMilli());
            s.setString(i + 4, leaf.body());
        });
    }

    /** Queues one completed subtree for {@link #flushNodes}. */
    void insertNode(int level, long index, byte[] hash) {
        pendingNodes.add(new Node(Subtree.id(level, index), hash));
    }

    void flushNodes() {
        // In key order, not the order the tree completes them: SQLite takes a multi-row INSERT in key
        // order some 40% faster (measured), and a statement per row slower still.
        pendingNodes.sort(Comparator.comparingLong(Node::id));
        insertAll("INSERT INTO ledger_nodes (id, hash)", "(?, ?)", pendingNodes, (s, i, node) -> {
            s.setLong(i, node.id());
            s.setBytes(i + 1, node.hash());
        });
        pendingNodes.clear();
    }

    private record Node(long id, byte[] hash) {}

    /** Binds one row's values from parameter {@code at} on. */
    private interface RowBinder<T> {
        void bind(PreparedStatement s, int at, T row) throws SQLException;
    }

    /**
     * Inserts {@code rows} with multi-row INSERTs, which cost the writer thread about a fifth less per
     * row than a statement (or a JDBC batch entry) per row. Each statement takes the largest power of
     * two of rows, up to {@link #ROWS_PER_INSERT}, that remain, so that a few prepared statements
     * serve every batch size.
     */
    private <T> void insertAll(String into, String row, List<T> rows, RowBinder<T> binder) {
        int columns = (int) row.chars().filter(ch -> ch == '?').count();
        int from = 0;
        while (from < rows.size()) {
            int n = Integer.highestOneBit(Math.min(rows.size() - from, ROWS_PER_INSERT));
            List<T> chunk = rows.subList(from, from + n);
            exec(into + " VALUES " + row + (", " + row).repeat(n - 1), s -> {
                for (int i = 0; i < chunk.size(); i++) binder.bind(s, 1 + i * columns, chunk.get(i));
            });
            from += n;
        }
    }

    void insertCheckpoint(SignedCheckpoint c, String verifierKey, Instant at) {
        exec("INSERT INTO checkpoints (size, root, note, key, signed_at) VALUES (?, ?, ?, ?, ?)", s -> {
            s.setLong(1, c.size());
            s.setBytes(2, c.checkpoint().rootHash());
            s.setString(3, c.note());
            s.setString(4, verifierKey);
            s.setLong(5, at.toEpochMilli());
        });
    }

    /** Asks for a checkpoint at the end of this batch even if none is due. */
    void wantCheckpoint() {
        sequencer.wantCheckpoint();
    }

    @Override
    public Optional<IdempotentSubmission> idempotent(String requester, String key) {
        return run(() -> {
            PreparedStatement s =
                    statement("SELECT request_id, fingerprint FROM idempotency_keys WHERE requester = ? AND key = ?");
            s.setString(1, requester);
            s.setString(2, key);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next()
                        ? Optional.of(new IdempotentSubmission(new RequestId(rs.getString(1)), rs.getString(2)))
                        : Optional.empty();
            }
        });
    }

    @Override
    public void rememberIdempotent(String requester, String key, IdempotentSubmission submission) {
        exec(
                "INSERT INTO idempotency_keys (requester, key, request_id, fingerprint, created_at) VALUES (?, ?, ?, ?, ?)",
                s -> {
                    s.setString(1, requester);
                    s.setString(2, key);
                    s.setString(3, submission.requestId().value());
                    s.setString(4, submission.fingerprint());
                    s.setLong(5, System.currentTimeMillis());
                });
    }

    @Override
    public Optional<Request> findOpen(String requester, String digest) {
        return run(() -> {
            PreparedStatement s = statement("SELECT doc FROM requests WHERE requester = ?"
                    + " AND json_extract(doc, '$.digest') = ? AND state IN ('pending', 'approved') ORDER BY id DESC");
            s.setString(1, requester);
            s.setString(2, digest);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    Request r = Sql.request(rs.getString(1));
                    if (r.state() == RequestState.PENDING || !r.grant().isRedeemed()) return Optional.of(r);
                }
                return Optional.empty();
            }
        });
    }

    @Override
    public Optional<ToolPin> toolPin(String upstream, String tool) {
        return run(() -> Optional.ofNullable(PinSql.read(c, upstream).get(tool)));
    }

    @Override
    public void putToolPin(ToolPin pin) {
        run(() -> {
            PinSql.put(c, pin);
            return null;
        });
    }

    private interface Binder {
        void bind(PreparedStatement s) throws SQLException;
    }

    private interface SqlCall<T> {
        T call() throws SQLException;
    }

    private void exec(String sql, Binder binder) {
        execCount(sql, binder);
    }

    private int execCount(String sql, Binder binder) {
        return run(() -> {
            PreparedStatement s = statement(sql);
            binder.bind(s);
            return s.executeUpdate();
        });
    }

    /** The writer prepares each statement once and keeps it for the life of its connection. */
    private PreparedStatement statement(String sql) throws SQLException {
        PreparedStatement s = statements.get(sql);
        if (s == null) {
            s = c.prepareStatement(sql);
            statements.put(sql, s);
        } else {
            s.clearParameters();
        }
        return s;
    }

    /** After a failed commit: drop any queued rows and batched statements that did not run. */
    void clearBatches() {
        pendingNodes.clear();
        for (PreparedStatement s : statements.values()) {
            try {
                s.clearBatch();
            } catch (SQLException e) {
                // the statement is unusable anyway; the next use will say so
            }
        }
    }

    private static <T> T run(SqlCall<T> call) {
        try {
            return call.call();
        } catch (SQLException e) {
            throw new StorageException("write failed: " + e.getMessage(), e);
        }
    }

    private static void setNullableLong(PreparedStatement s, int i, Long v) throws SQLException {
        if (v == null) s.setNull(i, Types.INTEGER);
        else s.setLong(i, v);
    }
}
