package io.countersign.store;

import io.countersign.core.LedgerEvent;
import io.countersign.core.RequestId;
import io.countersign.core.spi.Outbox;
import io.countersign.core.spi.RequestStore;
import io.countersign.core.spi.StorageException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

/** The deliveries tables of the SQLite store; writes go through the store's one writer. */
final class SqliteOutbox implements Outbox {
    private static final String COLUMNS = "id, channel, kind, target, request_id, event_index, event_type, state,"
            + " attempts, next_attempt_at, last_error, ref, created_at, delivered_at";

    private final Reader reader;
    private final Function<RequestStore.Work<Object>, Object> writer;

    /** Runs a query on a read connection. */
    interface Reader {
        <T> T read(Sql.Query<T> query);
    }

    SqliteOutbox(Reader reader, Function<RequestStore.Work<Object>, Object> writer) {
        this.reader = reader;
        this.writer = writer;
    }

    @Override
    public List<Sequenced> eventsAfter(long after, int limit) {
        return reader.read(c -> {
            try (PreparedStatement s = c.prepareStatement(
                    "SELECT seq, type, request_id, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?")) {
                s.setLong(1, after);
                s.setInt(2, limit);
                List<Sequenced> out = new ArrayList<>();
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        String request = rs.getString(3);
                        out.add(new Sequenced(
                                rs.getLong(1),
                                rs.getString(2),
                                request == null ? null : new RequestId(request),
                                rs.getString(4)));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public long lastIndex() {
        return reader.read(c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT coalesce(max(seq), -1) FROM events");
                    ResultSet rs = s.executeQuery()) {
                return rs.next() ? rs.getLong(1) : -1L;
            }
        });
    }

    @Override
    public int prune(Instant settledBefore, Instant usedBefore) {
        return (Integer) writer.apply(tx -> {
            Connection c = ((SqlTx) tx).connection();
            try (PreparedStatement d = c.prepareStatement("DELETE FROM deliveries WHERE state != 'pending'"
                            + " AND coalesce(delivered_at, next_attempt_at) < ?");
                    PreparedStatement t = c.prepareStatement("DELETE FROM used_tokens WHERE used_at < ?")) {
                d.setLong(1, settledBefore.toEpochMilli());
                t.setLong(1, usedBefore.toEpochMilli());
                return d.executeUpdate() + t.executeUpdate();
            } catch (SQLException e) {
                throw new StorageException("pruning deliveries failed: " + e.getMessage(), e);
            }
        });
    }

    @Override
    public Optional<Long> cursor(String name) {
        return reader.read(c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT position FROM delivery_cursor WHERE name = ?")) {
                s.setString(1, name);
                try (ResultSet rs = s.executeQuery()) {
                    return rs.next() ? Optional.of(rs.getLong(1)) : Optional.<Long>empty();
                }
            }
        });
    }

    @Override
    public void plan(String name, long position, List<Draft> drafts, Instant now) {
        write(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO delivery_cursor (name, position) VALUES (?, ?)"
                    + " ON CONFLICT (name) DO UPDATE SET position = excluded.position")) {
                s.setString(1, name);
                s.setLong(2, position);
                s.executeUpdate();
            }
            if (drafts.isEmpty()) return;
            try (PreparedStatement s = c.prepareStatement("INSERT OR IGNORE INTO deliveries (channel, kind, target,"
                    + " request_id, event_index, event_type, state, next_attempt_at, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)")) {
                for (Draft d : drafts) {
                    s.setString(1, d.channel());
                    s.setString(2, d.kind());
                    s.setString(3, d.target());
                    s.setString(4, d.requestId() == null ? null : d.requestId().value());
                    s.setLong(5, d.eventIndex());
                    s.setString(6, d.eventType());
                    s.setLong(7, now.toEpochMilli());
                    s.setLong(8, now.toEpochMilli());
                    s.addBatch();
                }
                s.executeBatch();
            }
        });
    }

    @Override
    public List<Delivery> claim(String channel, Instant now, Instant leaseUntil, int limit) {
        String dueWhere = "WHERE state = 'pending' AND next_attempt_at <= ? AND channel = ?";
        // Most polls find nothing due: ask a reader first, and leave the one writer alone.
        boolean any = reader.read(c -> !select(c, dueWhere + " LIMIT 1", s -> {
                    s.setLong(1, now.toEpochMilli());
                    s.setString(2, channel);
                })
                .isEmpty());
        if (!any) return List.of();
        @SuppressWarnings("unchecked")
        List<Delivery> claimed = (List<Delivery>) writer.apply(tx -> {
            try {
                Connection c = ((SqlTx) tx).connection();
                List<Delivery> due = select(c, dueWhere + " ORDER BY next_attempt_at, id LIMIT ?", s -> {
                    s.setLong(1, now.toEpochMilli());
                    s.setString(2, channel);
                    s.setInt(3, limit);
                });
                if (due.isEmpty()) return due;
                try (PreparedStatement s = c.prepareStatement(
                        "UPDATE deliveries SET next_attempt_at = ?, attempts = attempts + 1 WHERE id = ?")) {
                    for (Delivery d : due) {
                        s.setLong(1, leaseUntil.toEpochMilli());
                        s.setLong(2, d.id());
                        s.addBatch();
                    }
                    s.executeBatch();
                }
                return due.stream()
                        .map(d -> new Delivery(
                                d.id(),
                                d.draft(),
                                d.state(),
                                d.attempts() + 1,
                                leaseUntil,
                                d.lastError(),
                                d.ref(),
                                d.createdAt(),
                                d.deliveredAt()))
                        .toList();
            } catch (SQLException e) {
                throw new StorageException("claiming deliveries failed: " + e.getMessage(), e);
            }
        });
        return claimed;
    }

    @Override
    public void delivered(long id, String ref, Instant at, LedgerEvent event) {
        writer.apply(tx -> {
            update(
                    ((SqlTx) tx).connection(),
                    "UPDATE deliveries SET state = 'delivered', ref = ?, delivered_at = ?" + " WHERE id = ?",
                    s -> {
                        s.setString(1, ref);
                        s.setLong(2, at.toEpochMilli());
                        s.setLong(3, id);
                    });
            if (event != null) tx.append(event);
            return null;
        });
    }

    @Override
    public void retry(long id, String error, Instant next) {
        write(c -> update(c, "UPDATE deliveries SET next_attempt_at = ?, last_error = ? WHERE id = ?", s -> {
            s.setLong(1, next.toEpochMilli());
            s.setString(2, error);
            s.setLong(3, id);
        }));
    }

    @Override
    public void dead(long id, String error, Instant at) {
        write(c -> update(
                c, "UPDATE deliveries SET state = 'dead', last_error = ?, next_attempt_at = ? WHERE id = ?", s -> {
                    s.setString(1, error);
                    s.setLong(2, at.toEpochMilli());
                    s.setLong(3, id);
                }));
    }

    @Override
    public List<Delivery> forRequest(RequestId id) {
        return reader.read(c -> select(c, "WHERE request_id = ? ORDER BY id", s -> s.setString(1, id.value())));
    }

    @Override
    public List<Delivery> list(Delivery.State state, String channel, int limit) {
        return reader.read(c -> select(
                c, "WHERE (? IS NULL OR state = ?) AND (? IS NULL OR channel = ?) ORDER BY id DESC LIMIT ?", s -> {
                    String st = state == null ? null : state.wire();
                    s.setString(1, st);
                    s.setString(2, st);
                    s.setString(3, channel);
                    s.setString(4, channel);
                    s.setInt(5, limit);
                }));
    }

    @Override
    public Map<String, Map<Delivery.State, Long>> counts() {
        return reader.read(c -> {
            Map<String, Map<Delivery.State, Long>> out = new TreeMap<>();
            try (PreparedStatement s =
                            c.prepareStatement("SELECT channel, state, count(*) FROM deliveries GROUP BY 1, 2");
                    ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    out.computeIfAbsent(rs.getString(1), k -> new EnumMap<>(Delivery.State.class))
                            .put(Delivery.State.ofWire(rs.getString(2)), rs.getLong(3));
                }
            }
            return out;
        });
    }

    @Override
    public boolean useOnce(String nonce, Instant at) {
        return (Boolean) writer.apply(tx -> {
            try (PreparedStatement s = ((SqlTx) tx)
                    .connection()
                    .prepareStatement("INSERT OR IGNORE INTO used_tokens (nonce, used_at) VALUES (?, ?)")) {
                s.setString(1, nonce);
                s.setLong(2, at.toEpochMilli());
                return s.executeUpdate() == 1;
            } catch (SQLException e) {
                throw new StorageException("recording a used token failed: " + e.getMessage(), e);
            }
        });
    }

    // ---- helpers -----------------------------------------------------------------------------

    private interface Binder {
        void bind(PreparedStatement s) throws SQLException;
    }

    private interface Change {
        void run(Connection c) throws SQLException;
    }

    private void write(Change change) {
        writer.apply(tx -> {
            try {
                change.run(((SqlTx) tx).connection());
                return null;
            } catch (SQLException e) {
                throw new StorageException("writing deliveries failed: " + e.getMessage(), e);
            }
        });
    }

    private static void update(Connection c, String sql, Binder binder) {
        try (PreparedStatement s = c.prepareStatement(sql)) {
            binder.bind(s);
            s.executeUpdate();
        } catch (SQLException e) {
            throw new StorageException("writing deliveries failed: " + e.getMessage(), e);
        }
    }

    private static List<Delivery> select(Connection c, String where, Binder binder) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM deliveries " + where)) {
            binder.bind(s);
            List<Delivery> out = new ArrayList<>();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) out.add(row(rs));
            }
            return out;
        }
    }

    private static Delivery row(ResultSet rs) throws SQLException {
        String request = rs.getString(5);
        Draft draft = new Draft(
                rs.getString(2),
                rs.getString(3),
                rs.getString(4),
                request == null ? null : new RequestId(request),
                rs.getLong(6),
                rs.getString(7));
        long delivered = rs.getLong(14);
        boolean wasDelivered = !rs.wasNull();
        return new Delivery(
                rs.getLong(1),
                draft,
                Delivery.State.ofWire(rs.getString(8)),
                rs.getInt(9),
                Instant.ofEpochMilli(rs.getLong(10)),
                rs.getString(11),
                rs.getString(12),
                Instant.ofEpochMilli(rs.getLong(13)),
                wasDelivered ? Instant.ofEpochMilli(delivered) : null);
    }
}
