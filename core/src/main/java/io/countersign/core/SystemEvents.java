package io.countersign.core;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.CanonicalJson;
import io.countersign.core.policy.Policy;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HexFormat;

/** Ledger events that concern no single request: the server's policy, its ledger key, MCP tools and identities. */
public final class SystemEvents {
    private SystemEvents() {}

    /** The server loaded {@code policy} from {@code source}: every decision after it names this version. */
    public static LedgerEvent policyLoaded(Policy policy, String source, Instant at) {
        ObjectNode d = JsonNodeFactory.instance
                .objectNode()
                .put("policy_version", policy.version())
                .put("source", source);
        policy.ruleNames().forEach(d.putArray("rules")::add);
        return new LedgerEvent("policy.loaded", null, at, RequestEvents.SYSTEM, d);
    }

    /** Checkpoints are signed from now on by {@code key} instead of {@code previous} (verifier keys). */
    public static LedgerEvent keyRotated(String previous, String key, Instant at) {
        ObjectNode d = JsonNodeFactory.instance
                .objectNode()
                .put("previous_key", previous)
                .put("key", key);
        return new LedgerEvent("ledger.key_rotated", null, at, RequestEvents.SYSTEM, d);
    }

    /** The first definition seen of an MCP tool, trusted on first use and pinned by hash. */
    public static LedgerEvent toolPinned(String upstream, String tool, String sha256, Instant at) {
        return new LedgerEvent(
                "mcp.tool_pinned",
                null,
                at,
                RequestEvents.SYSTEM,
                tool(upstream, tool).put("sha256", sha256));
    }

    /** An MCP upstream now lists a tool whose definition differs from the pinned one. */
    public static LedgerEvent toolChanged(String upstream, String tool, String previous, String sha256, Instant at) {
        ObjectNode d = tool(upstream, tool).put("previous_sha256", previous).put("sha256", sha256);
        return new LedgerEvent("mcp.tool_changed", null, at, RequestEvents.SYSTEM, d);
    }

    /** A changed definition is trusted from now on, by the approval (or policy allow) of {@code request}. */
    public static LedgerEvent toolRepinned(String upstream, String tool, String sha256, RequestId request, Instant at) {
        return new LedgerEvent(
                "mcp.tool_repinned",
                request,
                at,
                RequestEvents.SYSTEM,
                tool(upstream, tool).put("sha256", sha256));
    }

    /**
     * A verified token tied an outside identity to a principal for good: the principal's act, since
     * its token carried the link. How an approver under a second subject is known to be the same person.
     * The identity itself (an email, a chat id) is given as its SHA-256: anyone with the ledger can
     * check a value they hold against it, and no one can list the organisation's addresses from it.
     */
    public static LedgerEvent identityLinked(LearnedLink link) {
        ObjectNode d = JsonNodeFactory.instance
                .objectNode()
                .put("link", link.kind())
                .put(
                        "value_sha256",
                        HexFormat.of()
                                .formatHex(CanonicalJson.sha256(link.value().getBytes(StandardCharsets.UTF_8))))
                .put("principal_kind", link.principalKind().wire());
        return new LedgerEvent("identity.linked", null, link.learnedAt(), link.principal(), d);
    }

    private static ObjectNode tool(String upstream, String tool) {
        return JsonNodeFactory.instance.objectNode().put("upstream", upstream).put("tool", tool);
    }
}
