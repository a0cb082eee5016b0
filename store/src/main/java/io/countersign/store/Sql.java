package io.countersign.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.LedgerEvent;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.RequestState;
import io.countersign.core.json.CanonicalJson;
import io.countersign.core.json.Json;
import io.countersign.core.spi.RequestStore;
import io.countersign.core.spi.StorageException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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

    static List<RequestId> dueForExpiry(Connection c, Instant now, int limit) throws SQLException {
        String sql = "SELECT id FROM requests WHERE state = 'pending' AND expires_at <= ?1"
                + " UNION SELECT id FROM requests WHERE state = 'approved' AND grant_expires_at <= ?1 LIMIT ?2";
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

    static String doc(Request r) {
        try {
            return Json.mapper().writeValueAsString(r);
        } catch (JsonProcessingException e) {
            throw new StorageException("cannot serialise request " + r.id(), e);
        }
    }

    static String leaf(LedgerEvent e) {
        return CanonicalJson.canonicalize(e.toJson());
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
            RequestId id = new RequestId(o.remove("request_id").asText());
            Instant at = Instant.parse(o.remove("at").asText());
            String actor = o.remove("actor").asText();
            return new LedgerEvent(type, id, at, actor, o);
        } catch (JsonProcessingException e) {
            throw new StorageException("a stored event does not parse: " + e.getOriginalMessage(), e);
        }
    }
}
