package io.countersign.store;

import io.countersign.core.RequestId;
import io.countersign.core.ToolPin;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/** The MCP tool pins table. Pins change rarely (when an upstream changes a tool), so nothing is cached. */
final class PinSql {
    private PinSql() {}

    static Map<String, ToolPin> read(Connection c, String upstream) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT tool, sha256, pending_sha256, pending_request,"
                + " updated_at FROM mcp_tool_pins WHERE upstream = ?")) {
            s.setString(1, upstream);
            Map<String, ToolPin> out = new HashMap<>();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    String request = rs.getString(4);
                    out.put(
                            rs.getString(1),
                            new ToolPin(
                                    upstream,
                                    rs.getString(1),
                                    rs.getString(2),
                                    rs.getString(3),
                                    request == null ? null : new RequestId(request),
                                    Instant.ofEpochMilli(rs.getLong(5))));
                }
            }
            return out;
        }
    }

    static void put(Connection c, ToolPin pin) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("INSERT INTO mcp_tool_pins (upstream, tool, sha256,"
                + " pending_sha256, pending_request, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                + " ON CONFLICT (upstream, tool) DO UPDATE SET sha256 = excluded.sha256,"
                + " pending_sha256 = excluded.pending_sha256, pending_request = excluded.pending_request,"
                + " updated_at = excluded.updated_at")) {
            s.setString(1, pin.upstream());
            s.setString(2, pin.tool());
            s.setString(3, pin.sha256());
            s.setString(4, pin.pendingSha256());
            s.setString(
                    5,
                    pin.pendingRequest() == null ? null : pin.pendingRequest().value());
            s.setLong(6, pin.updatedAt().toEpochMilli());
            s.executeUpdate();
        }
    }
}
