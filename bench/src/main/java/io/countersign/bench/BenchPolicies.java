package io.countersign.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.bench.PolicyDecisionBenchmark.Kind;
import io.countersign.bench.PolicyDecisionBenchmark.Shape;
import io.countersign.core.Action;
import io.countersign.core.ActionRequest;
import io.countersign.core.Decision;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.core.Resource;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The 200-rule policies and the requests that {@link PolicyDecisionBenchmark} decides.
 *
 * <p>Rule {@code i} belongs to action type {@code svc(i % 40).op} and is of kind {@code i / 40}:
 * 0 deny on huge row counts, 1 require_approval for prod PII, 2 allow read-only, 3
 * require_approval for large prod reads in some regions, 4 either an allow for non-prod (types 8
 * to 39) or, for types 0 to 7, a rule that pins no action type (risk tier, tags). So the {@link
 * Shape#INDEXED} policy has 192 pinned and 8 unpinned rules, and a decision for one of types 8 to 39 evaluates 13 of them.
 * The {@link Shape#UNINDEXED} policy says the same with {@code action.type.startsWith(...)},
 * which pins nothing, so every decision evaluates all 200. Both policies decide every request
 * alike; the tests check that.
 */
final class BenchPolicies {
    static final int RULES = 200;
    static final int TYPES = 40;
    static final int UNPINNED = 8;

    private BenchPolicies() {}

    static String yaml(Shape shape) {
        StringBuilder y = new StringBuilder(64 * 1024);
        y.append("version: 1\n")
                .append("default:\n")
                .append("  decision: require_approval\n")
                .append("  approvals: [{ group: security, count: 1 }]\n")
                .append("rules:\n");
        for (int i = 0; i < RULES; i++) rule(y, shape, i);
        return y.toString();
    }

    private static void rule(StringBuilder y, Shape shape, int i) {
        int t = i % TYPES;
        String type = shape == Shape.INDEXED
                ? "action.type == \"svc" + t + ".op\""
                : "action.type.startsWith(\"svc" + t + ".\")";
        y.append("  - name: r").append(i).append('\n');
        switch (i / TYPES) {
            case 0 ->
                y.append(match(type + " && resource.env == \"prod\" && has(action.params.rows)"
                                + " && action.params.rows > 1000000"))
                        .append("    decision: deny\n    reason: bulk reads of more than a million rows are refused\n");
            case 1 ->
                y.append(match(type + " && resource.env == \"prod\" && \"pii\" in resource.tags"))
                        .append(approval("data-owners", 2, "30m"));
            case 2 ->
                y.append(match(type + " && has(action.params.readonly) && action.params.readonly == true"))
                        .append("    decision: allow\n    grant_ttl: 5m\n");
            case 3 ->
                y.append(match(type + " && resource.env == \"prod\" && has(action.params.region)"
                                + " && action.params.region in [\"eu\", \"us\"] && action.params.rows > 10000"))
                        .append(approval("security", 1, "15m"));
            default -> y.append(lastKind(type, t));
        }
    }

    private static String lastKind(String type, int t) {
        if (t >= UNPINNED) {
            return match(type + " && resource.env != \"prod\"") + "    decision: allow\n";
        }
        if (t % 2 == 0) {
            return match("requester.risk_tier == \"high\" && resource.env == \"prod\" && resource.domain == \"d" + t
                            + "\"")
                    + approval("security", 2, "1h");
        }
        return match("requester.kind == \"agent\" && \"secret" + t + "\" in resource.tags")
                + "    decision: deny\n    reason: agents never touch secrets\n";
    }

    private static String match(String cel) {
        return "    match: '" + cel + "'\n";
    }

    private static String approval(String group, int count, String pendingTtl) {
        return "    decision: require_approval\n    approvals: [{ group: " + group + ", count: " + count
                + " }]\n    pending_ttl: " + pendingTtl + "\n";
    }

    /** A high-risk agent, as the demo's deploy-bot. */
    static Principal requester() {
        return new Principal("deploy-bot", PrincipalKind.AGENT, Set.of(), "alice", "claude", "high", Map.of());
    }

    static ActionRequest request(Kind kind) {
        return switch (kind) {
            case ALLOW -> request("svc17.op", "dev", List.of(), params(true, 10, "us"));
            case REQUIRE_APPROVAL -> request("svc23.op", "prod", List.of("pii"), params(false, 50_000, "eu"));
            case DENY -> request("svc31.op", "prod", List.of(), params(true, 5_000_000, "us"));
        };
    }

    /** The decision class each request kind must get (checked before measuring). */
    static Class<? extends Decision> expected(Kind kind) {
        return switch (kind) {
            case ALLOW -> Decision.Allow.class;
            case REQUIRE_APPROVAL -> Decision.RequireApproval.class;
            case DENY -> Decision.Deny.class;
        };
    }

    /** How many rules a decision evaluates: the type's pinned rules plus the unpinned ones, or all. */
    static int evaluated(Shape shape) {
        return shape == Shape.INDEXED ? RULES / TYPES + UNPINNED : RULES;
    }

    private static ActionRequest request(String type, String env, List<String> tags, ObjectNode params) {
        ObjectNode context = JsonNodeFactory.instance.objectNode().put("trace_id", "4bf92f3577b34da6");
        return new ActionRequest(
                new Action(type, params),
                new Resource("table", "orders", env, tags, null),
                "nightly reconciliation",
                null,
                context);
    }

    private static ObjectNode params(boolean readonly, long rows, String region) {
        return JsonNodeFactory.instance
                .objectNode()
                .put("readonly", readonly)
                .put("rows", rows)
                .put("region", region)
                .put("sql", "select * from orders where day = ?");
    }
}
