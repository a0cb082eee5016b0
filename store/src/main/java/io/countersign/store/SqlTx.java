package io.countersign.store;

import io.countersign.core.LearnedLink;
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
    /** Rows of the largest multi-row INSERT: a power of two, and at up to 9 parameters a row far under SQLite's 32,766. */
    static final int ROWS_PER_INSERT = 64;

    /**
     * Open requests that needed approval, by requester and digest, newest first: answered from
     * requests_open_by_digest, which holds only those.
     */
    static final String FIND_OPEN = "SELECT doc FROM requests WHERE requester = ? AND digest = ?"
            + " AND needs_approval = 1 AND state IN ('pending', 'approved') ORDER BY id DESC";

    private final Connection c;
    private final Sequencer sequencer;
    private final Map<String, PreparedStatement> statements = new HashMap<>();
    private final Map<String, MultiRow> multiRows = new HashMap<>();
    private final List<Node> pendingNodes = new ArrayList<>();
    /** In insertion order, so that rows go in by id as they come (ids grow with time). */
    private final Map<RequestId, NewRequest> newRequests = new java.util.LinkedHashMap<>();
    /** The requests the running work inserted, dropped if it fails. */
    private final List<RequestId> newInWork = new ArrayList<>();

    private GroupCommitter.Savepoints savepoints;
    private boolean savepointSet;

    SqlTx(Connection c, Sequencer sequencer) {
        this.c = c;
        this.sequencer = sequencer;
    }

    /**
     * The transaction's connection, for the store's other tables (tool pins, deliveries). Inside a work
     * it may be written to, so the work's savepoint is set first.
     */
    Connection connection() {
        beforeWrite();
        return c;
    }

    /**
     * Starts a work: its savepoint is set only before its first write ({@link #beforeWrite}), since a
     * savepoint makes SQLite keep a copy of every page the work then changes that the batch had
     * changed already (the right-hand leaf of every table and index it inserts into), in case of a
     * rollback; a work that only reads, or whose rows wait for the batch ({@link #append}), needs none.
     */
    void beginWork(GroupCommitter.Savepoints savepoints) {
        this.savepoints = savepoints;
        this.savepointSet = false;
        newInWork.clear();
    }

    /** The running work failed: the requests it inserted are not inserted. */
    void dropWork() {
        newInWork.forEach(newRequests::remove);
        newInWork.clear();
    }

    /** Ends a work; true if it set its savepoint, which the caller then releases or rolls back to. */
    boolean endWork() {
        boolean set = savepointSet;
        savepoints = null;
        savepointSet = false;
        return set;
    }

    private void beforeWrite() {
        if (savepoints == null || savepointSet) return;
        run(() -> {
            savepoints.set();
            return null;
        });
        savepointSet = true;
    }

    @Override
    public Optional<Request> find(RequestId id) {
        NewRequest added = newRequests.get(id);
        if (added != null) return Optional.of(added.request());
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
        insert(r, Sql.doc(r));
    }

    /**
     * Takes {@code r}, with its doc as its caller serialised it before the write, into the batch; its
     * row is inserted with the batch's ({@link #insertRequests}), so that the work writes nothing
     * itself and needs no savepoint. Until then this transaction's reads see it from here.
     */
    @Override
    public void insert(Request r, String doc) {
        if (newRequests.putIfAbsent(r.id(), new NewRequest(r, doc)) != null) {
            throw new StorageException("request " + r.id() + " is already in this batch", null);
        }
        newInWork.add(r.id());
    }

    /** A request inserted in this batch, waiting for {@link #insertRequests}. */
    private record NewRequest(Request request, String doc) {}

    /** Inserts the rows of the requests this batch's works inserted, in a few multi-row statements. */
    void insertRequests() {
        List<NewRequest> rows = List.copyOf(newRequests.values());
        newRequests.clear();
        insertAll(
                "INSERT INTO requests"
                        + " (id, requester, state, created_at, expires_at, grant_expires_at, digest, needs_approval, doc)",
                "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
                (s, i, row) -> {
                    Request r = row.request();
                    s.setString(i, r.id().value());
                    s.setString(i + 1, r.requester().id());
                    s.setString(i + 2, r.state().wire());
                    s.setLong(i + 3, r.createdAt().toEpochMilli());
                    setNullableLong(
                            s,
                            i + 4,
                            r.expiresAt() == null ? null : r.expiresAt().toEpochMilli());
                    setNullableLong(s, i + 5, Sql.grantExpiry(r));
                    s.setString(i + 6, r.digest());
                    s.setInt(i + 7, needsApproval(r) ? 1 : 0);
                    s.setString(i + 8, row.doc());
                });
    }

    @Override
    public void update(Request r) {
        if (newRequests.computeIfPresent(r.id(), (id, added) -> new NewRequest(r, Sql.doc(r))) != null) return;
        int n = execCount("UPDATE requests SET state = ?, grant_expires_at = ?, doc = ? WHERE id = ?", s -> {
            s.setString(1, r.state().wire());
            setNullableLong(s, 2, Sql.grantExpiry(r));
            s.setString(3, Sql.doc(r));
            s.setString(4, r.id().value());
        });
        if (n != 1) throw new StorageException("request " + r.id() + " to update does not exist", null);
    }

    /**
     * Takes the event's index and leaf now, splicing the index into the leaf its caller canonicalised;
     * its row is inserted with the batch's ({@link #insertLeaves}).
     */
    @Override
    public void append(LedgerEvent.Prepared e) {
        sequencer.appended(e.event(), e.leafAt(sequencer.nextIndex()));
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
        MultiRow statements = multiRows.computeIfAbsent(into, k -> MultiRow.of(into, row));
        int from = 0;
        while (from < rows.size()) {
            int n = Integer.highestOneBit(Math.min(rows.size() - from, ROWS_PER_INSERT));
            List<T> chunk = rows.subList(from, from + n);
            exec(statements.sql()[Integer.numberOfTrailingZeros(n)], s -> {
                for (int i = 0; i < chunk.size(); i++) binder.bind(s, 1 + i * statements.columns(), chunk.get(i));
            });
            from += n;
        }
    }

    /** The text of one multi-row INSERT for each power of two of rows, made once rather than per batch. */
    private record MultiRow(int columns, String[] sql) {
        static MultiRow of(String into, String row) {
            String[] sql = new String[Integer.numberOfTrailingZeros(ROWS_PER_INSERT) + 1];
            for (int k = 0; k < sql.length; k++) sql[k] = into + " VALUES " + row + (", " + row).repeat((1 << k) - 1);
            return new MultiRow((int) row.chars().filter(ch -> ch == '?').count(), sql);
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
        Optional<Request> added = newRequests.values().stream()
                .map(NewRequest::request)
                .filter(r -> r.requester().id().equals(requester)
                        && r.digest().equals(digest)
                        && needsApproval(r)
                        && isOpen(r))
                .max(Comparator.comparing(r -> r.id().value()));
        if (added.isPresent()) return added; // open, and newer than the committed ones as ids grow with time
        return run(() -> {
            PreparedStatement s = statement(FIND_OPEN);
            s.setString(1, requester);
            s.setString(2, digest);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    Request r = Sql.request(rs.getString(1));
                    if (isOpen(r)) return Optional.of(r);
                }
                return Optional.empty();
            }
        });
    }

    /** Whether policy held the request for approval: only such a request can be resumed. */
    private static boolean needsApproval(Request r) {
        return r.decision() instanceof io.countersign.core.Decision.RequireApproval;
    }

    /** Pending, or approved with its grant unused. */
    private static boolean isOpen(Request r) {
        return r.state() == RequestState.PENDING
                || r.state() == RequestState.APPROVED
                        && r.grant() != null
                        && !r.grant().isRedeemed();
    }

    @Override
    public Optional<ToolPin> toolPin(String upstream, String tool) {
        return run(() -> Optional.ofNullable(PinSql.read(c, upstream).get(tool)));
    }

    @Override
    public void putToolPin(ToolPin pin) {
        beforeWrite();
        run(() -> {
            PinSql.put(c, pin);
            return null;
        });
    }

    @Override
    public Optional<LearnedLink> learnedLink(String kind, String value) {
        return run(() -> Optional.ofNullable(LinkSql.find(c, kind, value)));
    }

    @Override
    public void learn(LearnedLink link) {
        beforeWrite();
        run(() -> {
            LinkSql.insert(c, link);
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
        beforeWrite();
        return run(() -> {
            PreparedStatement s = statement(sql);
            binder.bind(s);
            return s.executeUpdate();
        });
    }

    /**
     * The writer prepares each statement once and keeps it for the life of its connection. Every use
     * binds every parameter, so none are cleared between uses (a call into SQLite saved per statement).
     */
    private PreparedStatement statement(String sql) throws SQLException {
        PreparedStatement s = statements.get(sql);
        if (s == null) {
            s = c.prepareStatement(sql);
            statements.put(sql, s);
        }
        return s;
    }

    /** After a failed commit: drop any queued rows and batched statements that did not run. */
    void clearBatches() {
        pendingNodes.clear();
        newRequests.clear();
        newInWork.clear();
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
