package io.countersign.store;

import io.countersign.core.LedgerEvent;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.spi.RequestStore.IdempotentSubmission;
import io.countersign.core.spi.RequestStore.Tx;
import io.countersign.core.spi.StorageException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** The writer's view of the database inside a transaction. Used only on the writer thread. */
final class SqlTx implements Tx {
    private final Connection c;
    private final Map<String, PreparedStatement> statements = new HashMap<>();

    SqlTx(Connection c) {
        this.c = c;
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

    @Override
    public void append(LedgerEvent e) {
        exec("INSERT INTO events (request_id, type, at, body) VALUES (?, ?, ?, ?)", s -> {
            s.setString(1, e.requestId().value());
            s.setString(2, e.type());
            s.setLong(3, e.at().toEpochMilli());
            s.setString(4, Sql.leaf(e));
        });
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
