package io.countersign.store;

import io.countersign.core.LearnedLink;
import io.countersign.core.PrincipalKind;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** The learned links table. Read whole at start and written once per link; the server keeps them in memory. */
final class LinkSql {
    private static final String COLUMNS = "kind, value, principal, principal_kind, learned_at";

    private LinkSql() {}

    static List<LearnedLink> all(Connection c) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM learned_links ORDER BY learned_at");
                ResultSet rs = s.executeQuery()) {
            List<LearnedLink> out = new ArrayList<>();
            while (rs.next()) out.add(link(rs));
            return out;
        }
    }

    static LearnedLink find(Connection c, String kind, String value) throws SQLException {
        try (PreparedStatement s =
                c.prepareStatement("SELECT " + COLUMNS + " FROM learned_links WHERE kind = ? AND value = ?")) {
            s.setString(1, kind);
            s.setString(2, value);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? link(rs) : null;
            }
        }
    }

    static void insert(Connection c, LearnedLink link) throws SQLException {
        try (PreparedStatement s =
                c.prepareStatement("INSERT INTO learned_links (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?)")) {
            s.setString(1, link.kind());
            s.setString(2, link.value());
            s.setString(3, link.principal());
            s.setString(4, link.principalKind().wire());
            s.setLong(5, link.learnedAt().toEpochMilli());
            s.executeUpdate();
        }
    }

    private static LearnedLink link(ResultSet rs) throws SQLException {
        return new LearnedLink(
                rs.getString(1),
                rs.getString(2),
                rs.getString(3),
                PrincipalKind.fromWire(rs.getString(4)),
                Instant.ofEpochMilli(rs.getLong(5)));
    }
}
