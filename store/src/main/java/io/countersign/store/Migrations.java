package io.countersign.store;

import java.io.IOException;
import java.io.InputStream;
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
 * Versioned schema migrations: {@code db/<dialect>/V<n>__<name>.sql} on the classpath, applied in
 * order, each in its own transaction, recorded in {@code schema_version}. Small enough not to need
 * Flyway; a database newer than this build is refused rather than guessed at.
 */
final class Migrations {
    private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);
    static final List<String> SQLITE = List.of(
            "V1__requests.sql",
            "V2__ledger.sql",
            "V3__mcp.sql",
            "V4__channels.sql",
            "V5__requests_digest.sql",
            "V6__requests_needs_approval.sql",
            "V7__ledger_nodes_in_completion_order.sql",
            "V8__learned_links.sql");

    private Migrations() {}

    static void apply(Connection c, String dialect) throws SQLException {
        apply(c, dialect, SQLITE.size());
    }

    /** Migrates up to schema version {@code upTo} only: for tests that need a database as an older release left it. */
    static void apply(Connection c, String dialect, int upTo) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                    + " applied_at INTEGER NOT NULL)");
        }
        int current = currentVersion(c);
        if (current > SQLITE.size()) {
            throw new SQLException("the database is at schema version " + current + " but this build knows only "
                    + SQLITE.size() + "; use a newer Countersign");
        }
        for (int v = current + 1; v <= upTo; v++) applyOne(c, dialect, v, SQLITE.get(v - 1));
    }

    private static int currentVersion(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(version), 0) FROM schema_version")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static void applyOne(Connection c, String dialect, int version, String name) throws SQLException {
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            for (String statement : statements(read("db/" + dialect + "/" + name))) s.execute(statement);
            try (PreparedStatement p = c.prepareStatement("INSERT INTO schema_version VALUES (?, ?, ?)")) {
                p.setInt(1, version);
                p.setString(2, name);
                p.setLong(3, System.currentTimeMillis());
                p.executeUpdate();
            }
            c.commit();
            LOG.info("applied migration {}", name);
        } catch (SQLException e) {
            c.rollback();
            throw new SQLException("migration " + name + " failed: " + e.getMessage(), e);
        } finally {
            c.setAutoCommit(true);
        }
    }

    private static List<String> statements(String script) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : script.split("\n")) {
            String code = line.replaceAll("--.*$", "").strip();
            if (code.isEmpty()) continue;
            current.append(code).append('\n');
            if (code.endsWith(";")) {
                out.add(current.toString());
                current.setLength(0);
            }
        }
        return out;
    }

    private static String read(String resource) {
        try (InputStream in = Migrations.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("migration " + resource + " is missing from the build");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + resource, e);
        }
    }
}
