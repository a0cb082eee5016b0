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
 * Shape#INDEXED} policy has 192 pinned and 8 unpinned rules, and a decision for one of types 8 to
 * 39 considers 13 of them; every comparison in them ({@code resource.env == "prod"}, {@code
 * action.params.rows > 1000000}) is a guard the evaluator decides without CEL, so for these
 * requests no CEL program runs. The other shapes say exactly the same in forms that take that away
 * step by step:
 *
 * <ul>
 *   <li>{@link Shape#PARAMS_IN_CEL} reads params by index ({@code action.params["rows"] > 1000000},
 *       {@code "rows" in action.params}), which no guard takes: the type index and the guards on
 *       request fields apply, and the rules they leave run their CEL programs;
 *   <li>{@link Shape#UNINDEXED} pins no type ({@code action.type.startsWith("svc17.")}): all 200
 *       rules are candidates, guards apply, and every candidate whose guards hold runs CEL;
 *   <li>{@link Shape#OPAQUE} does both and also writes field comparisons as {@code resource.env + ""
 *       == "prod"}: every decision runs all 200 CEL programs.
 * </ul>
 *
 * All four decide every request alike; the tests check that.
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
        boolean pinned = shape == Shape.INDEXED || shape == Shape.PARAMS_IN_CEL;
        String type = pinned ? "action.type == \"svc" + t + ".op\"" : "action.type.startsWith(\"svc" + t + ".\")";
        Cel c = new Cel(shape == Shape.OPAQUE, shape == Shape.PARAMS_IN_CEL || shape == Shape.OPAQUE);
        y.append("  - name: r").append(i).append('\n');
        switch (i / TYPES) {
            case 0 ->
                y.append(match(type + " && " + c.is("resource.env", "prod") + " && " + c.has("rows") + " && "
                                + c.param("rows") + " > 1000000"))
                        .append("    decision: deny\n    reason: bulk reads of more than a million rows are refused\n");
            case 1 ->
                y.append(match(type + " && " + c.is("resource.env", "prod") + " && " + c.in("pii", "resource.tags")))
                        .append(approval("data-owners", 2, "30m"));
            case 2 ->
                y.append(match(type + " && " + c.has("readonly") + " && " + c.param("readonly") + " == true"))
                        .append("    decision: allow\n    grant_ttl: 5m\n");
            case 3 ->
                y.append(match(type + " && " + c.is("resource.env", "prod") + " && " + c.has("region") + " && "
                                + c.param("region") + " in [\"eu\", \"us\"] && " + c.param("rows") + " > 10000"))
                        .append(approval("security", 1, "15m"));
            default -> y.append(lastKind(type, t, c));
        }
    }

    private static String lastKind(String type, int t, Cel c) {
        if (t >= UNPINNED) {
            return match(type + " && " + c.isNot("resource.env", "prod")) + "    decision: allow\n";
        }
        if (t % 2 == 0) {
            return match(c.is("requester.risk_tier", "high") + " && " + c.is("resource.env", "prod") + " && "
                            + c.is("resource.domain", "d" + t))
                    + approval("security", 2, "1h");
        }
        return match(c.is("requester.kind", "agent") + " && " + c.in("secret" + t, "resource.tags"))
                + "    decision: deny\n    reason: agents never touch secrets\n";
    }

    /**
     * The comparisons the rules make, written plainly (guards the evaluator decides without CEL) or
     * in forms that mean exactly the same but that only CEL can evaluate: for request fields when
     * {@code opaqueFields}, for params when {@code opaqueParams}.
     */
    private record Cel(boolean opaqueFields, boolean opaqueParams) {
        String is(String field, String literal) {
            return (opaqueFields ? field + " + \"\"" : field) + " == \"" + literal + "\"";
        }

        String isNot(String field, String literal) {
            return (opaqueFields ? field + " + \"\"" : field) + " != \"" + literal + "\"";
        }

        String in(String literal, String listField) {
            return "\"" + literal + "\" in " + (opaqueFields ? listField + " + []" : listField);
        }

        String has(String param) {
            return opaqueParams ? "\"" + param + "\" in action.params" : "has(action.params." + param + ")";
        }

        String param(String name) {
            return opaqueParams ? "action.params[\"" + name + "\"]" : "action.params." + name;
        }
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

    /** How many rules the type index leaves a decision to consider: the type's pinned rules plus the unpinned ones, or all. */
    static int candidates(Shape shape) {
        return shape == Shape.INDEXED || shape == Shape.PARAMS_IN_CEL ? RULES / TYPES + UNPINNED : RULES;
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
