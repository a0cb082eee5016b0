package io.countersign.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.LedgerEvent;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.RequestState;
import io.countersign.core.json.CanonicalJson;
import io.countersign.core.json.Json;
import io.countersign.core.spi.RequestStore;
import io.countersign.core.spi.StorageException;
import io.countersign.ledger.Checkpoint;
import io.countersign.ledger.SignedCheckpoint;
import io.countersign.ledger.SignedNote;
import io.countersign.ledger.Subtree;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The SQL both the writer and the readers use, and the mapping of records to rows. */
final class Sql {
    private Sql() {}

    @FunctionalInterface
    interface Query<T> {
        T run(Connection c) throws SQLException;
    }

    static Optional<Request> findRequest(Connection c, RequestId id) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT doc FROM requests WHERE id = ?")) {
            s.setString(1, id.value());
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? Optional.of(request(rs.getString(1))) : Optional.empty();
            }
        }
    }

    static List<Request> listRequests(Connection c, RequestStore.Query q) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT doc FROM requests WHERE 1 = 1");
        if (q.requester() != null) sql.append(" AND requester = ?");
        if (q.state() != null) sql.append(" AND state = ?");
        sql.append(" ORDER BY id DESC LIMIT ?");
        try (PreparedStatement s = c.prepareStatement(sql.toString())) {
            int i = 1;
            if (q.requester() != null) s.setString(i++, q.requester());
            if (q.state() != null) s.setString(i++, q.state().wire());
            s.setInt(i, q.limit());
            List<Request> out = new ArrayList<>();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) out.add(request(rs.getString(1)));
            }
            return out;
        }
    }

    /**
     * Run every second by the sweeper. Left to itself SQLite answers {@code state = ?} from
     * requests_by_state and reads every approved request, whose count only grows; the partial
     * expiry indexes read only what is due. The two halves never share a row, so UNION ALL.
     */
    static List<RequestId> dueForExpiry(Connection c, Instant now, int limit) throws SQLException {
        String sql = "SELECT id FROM requests INDEXED BY requests_pending_expiry"
                + " WHERE state = 'pending' AND expires_at <= ?1"
                + " UNION ALL SELECT id FROM requests INDEXED BY requests_grant_expiry"
                + " WHERE state = 'approved' AND grant_expires_at <= ?1 LIMIT ?2";
        try (PreparedStatement s = c.prepareStatement(sql)) {
            s.setLong(1, now.toEpochMilli());
            s.setInt(2, limit);
            List<RequestId> out = new ArrayList<>();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) out.add(new RequestId(rs.getString(1)));
            }
            return out;
        }
    }

    static List<LedgerEvent> events(Connection c, RequestId id) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT body FROM events WHERE request_id = ? ORDER BY seq")) {
            s.setString(1, id.value());
            List<LedgerEvent> out = new ArrayList<>();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) out.add(event(rs.getString(1)));
            }
            return out;
        }
    }

    static List<LedgerEntry> leaves(Connection c, RequestId id) throws SQLException {
        try (PreparedStatement s =
                c.prepareStatement("SELECT seq, body FROM events WHERE request_id = ? ORDER BY seq")) {
            s.setString(1, id.value());
            List<LedgerEntry> out = new ArrayList<>();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) out.add(new LedgerEntry(rs.getLong(1), rs.getString(2)));
            }
            return out;
        }
    }

    static List<String> entries(Connection c, long start, long end) throws SQLException {
        try (PreparedStatement s =
                c.prepareStatement("SELECT body FROM events WHERE seq >= ? AND seq < ? ORDER BY seq")) {
            s.setLong(1, start);
            s.setLong(2, end);
            List<String> out = new ArrayList<>();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) out.add(rs.getString(1));
            }
            return out;
        }
    }

    /** The hashes of {@code ids}, with one IN-query kept per count in {@code cache} (the connection's own). */
    static byte[][] nodes(Connection c, long[] ids, Map<Integer, PreparedStatement> cache) throws SQLException {
        if (ids.length == 0) return new byte[0][];
        PreparedStatement s = cache.get(ids.length);
        if (s == null) {
            s = c.prepareStatement(
                    "SELECT id, hash FROM ledger_nodes WHERE id IN (?" + ",?".repeat(ids.length - 1) + ")");
            cache.put(ids.length, s);
        }
        Map<Long, byte[]> found = new HashMap<>();
        for (int i = 0; i < ids.length; i++) s.setLong(i + 1, ids[i]);
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) found.put(rs.getLong(1), rs.getBytes(2));
        }
        byte[][] out = new byte[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            out[i] = found.get(ids[i]);
            if (out[i] == null) throw new StorageException("the stored tree has no node " + Subtree.of(ids[i]), null);
        }
        return out;
    }

    static List<SignedCheckpoint> checkpoints(Connection c, int limit) throws SQLException {
        long count;
        try (PreparedStatement s = c.prepareStatement("SELECT COUNT(*) FROM checkpoints");
                ResultSet rs = s.executeQuery()) {
            rs.next();
            count = rs.getLong(1);
        }
        long step = Math.max(1, (count + limit - 1) / Math.max(1, limit));
        List<SignedCheckpoint> out = new ArrayList<>();
        try (PreparedStatement s = c.prepareStatement("SELECT note, size FROM checkpoints ORDER BY size");
                ResultSet rs = s.executeQuery()) {
            long i = 0;
            while (rs.next()) {
                if (i % step == 0 || i == count - 1)
                    out.add(new SignedCheckpoint(
                            Checkpoint.parse(SignedNote.unverifiedText(rs.getString(1))), rs.getString(1)));
                i++;
            }
        }
        return out;
    }

    static String doc(Request r) {
        try {
            return Json.mapper().writeValueAsString(r);
        } catch (JsonProcessingException e) {
            throw new StorageException("cannot serialise request " + r.id(), e);
        }
    }

    /** A stored leaf from before the ledger existed, given its index (canonical JSON again). */
    static String withIndex(String body, long index) {
        try {
            ObjectNode o = (ObjectNode) Json.mapper().readTree(body);
            o.put("index", index);
            return CanonicalJson.canonicalize(o);
        } catch (JsonProcessingException | ClassCastException e) {
            throw new StorageException("a stored event does not parse: " + body, e);
        }
    }

    static Long grantExpiry(Request r) {
        boolean unused = r.state() == RequestState.APPROVED
                && r.grant() != null
                && !r.grant().isRedeemed();
        return unused ? r.grant().expiresAt().toEpochMilli() : null;
    }

    static Request request(String doc) {
        try {
            return Json.mapper().readValue(doc, Request.class);
        } catch (JsonProcessingException e) {
            throw new StorageException("a stored request does not parse: " + e.getOriginalMessage(), e);
        }
    }

    private static LedgerEvent event(String body) {
        try {
            ObjectNode o = (ObjectNode) Json.mapper().readTree(body);
            String type = o.remove("type").asText();
            o.remove("index");
            JsonNode rid = o.remove("request_id");
            RequestId id = rid == null ? null : new RequestId(rid.asText());
            Instant at = Instant.parse(o.remove("at").asText());
            String actor = o.remove("actor").asText();
            return new LedgerEvent(type, id, at, actor, o);
        } catch (JsonProcessingException e) {
            throw new StorageException("a stored event does not parse: " + e.getOriginalMessage(), e);
        }
    }
}
