package io.countersign.core;

import java.time.Instant;
import java.util.Objects;

/**
 * The definition of one MCP tool that Countersign trusts, pinned by hash, and a changed definition
 * awaiting re-approval, if any.
 *
 * @param upstream the upstream MCP server's configured name
 * @param tool the tool's name
 * @param sha256 hex SHA-256 of the trusted definition's canonical JSON (name, description, input schema)
 * @param pendingSha256 a changed definition that is not trusted yet, or null
 * @param pendingRequest the request that asks to trust {@code pendingSha256}, or null
 * @param updatedAt when this pin last changed
 */
public record ToolPin(
        String upstream,
        String tool,
        String sha256,
        String pendingSha256,
        RequestId pendingRequest,
        Instant updatedAt) {
    public ToolPin {
        Objects.requireNonNull(upstream, "upstream");
        Objects.requireNonNull(tool, "tool");
        Objects.requireNonNull(sha256, "sha256");
        Objects.requireNonNull(updatedAt, "updatedAt");
    }

    /** This pin, trusting {@code sha256} from now on. */
    public ToolPin trusting(String newSha256, Instant at) {
        return new ToolPin(upstream, tool, newSha256, null, null, at);
    }

    /** This pin, with {@code changed} waiting on {@code request}. */
    public ToolPin awaiting(String changed, RequestId request, Instant at) {
        return new ToolPin(upstream, tool, sha256, changed, request, at);
    }
}
