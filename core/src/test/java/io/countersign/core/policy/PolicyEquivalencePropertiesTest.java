package io.countersign.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Action;
import io.countersign.core.ActionRequest;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.core.Resource;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * {@link Policy#decide} runs as little CEL as it can (the action-type index, guards decided in Java,
 * residual programs); {@link Policy#explain} runs every rule's whole program. Over generated
 * policies and requests they must agree, rule by rule (matched, errored or not) and on the decision.
 * The conjuncts mix every guard form with matches that error, that return a non-bool, and that nest
 * {@code &&} and {@code ||}: the cases where skipping CEL could go wrong.
 */
class PolicyEquivalencePropertiesTest {
    private static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    /** An integer beyond a long: CEL sees a double. */
    private static final Object HUGE = F.numberNode(new java.math.BigInteger("100000000000000000000"));

    /** Conjuncts that are guards. */
    static final List<String> GUARDS = List.of(
            "action.type == \"db.query\"",
            "\"db.export\" == action.type",
            "action.type != \"db.query\"",
            "action.type in [\"db.export\", \"iam.grant\"]",
            "action.type in []",
            "resource.env == \"prod\"",
            "resource.env != \"prod\"",
            "resource.env in [\"prod\", \"staging\"]",
            "resource.domain == \"\"",
            "resource.type == \"table\"",
            "resource.id == \"orders\"",
            "requester.kind == \"agent\"",
            "requester.kind != \"human\"",
            "requester.risk_tier == \"high\"",
            "requester.model == \"m1\"",
            "requester.owner == \"alice\"",
            "requester.id == \"agent-7\"",
            "requester.on_behalf_of == \"\"",
            "\"pii\" in resource.tags",
            "\"ops\" in requester.groups",
            "has(action.params.rows)",
            "has(action.params.flag)",
            "has(context.pipeline)",
            "action.params.rows > 1000",
            "1000 < action.params.rows",
            "action.params.rows <= 10",
            "action.params.rows >= -5",
            "action.params.rows == 10",
            "action.params.readonly == true",
            "false != action.params.readonly",
            "action.params.flag == \"yes\"",
            "action.params.region in [\"eu\", \"us\"]",
            "action.params.region != \"ap\"",
            "context.pipeline == \"nightly\"",
            "context.pipeline != \"adhoc\"");

    /** Conjuncts that are not: some error, some return a non-bool, some nest. */
    static final List<String> OTHERS = List.of(
            "action.params.rows > 1000.5",
            "action.params.rows == 10.0",
            "action.params.readonly == null",
            "action.params.rows == action.params.limit",
            "action.params.nested.x == 1",
            "action.params.flag",
            "!(resource.env == \"prod\")",
            "action.type.startsWith(\"db.\")",
            "action[\"type\"] == \"db.query\"",
            "resource.tags.exists(t, t == \"secret\")",
            "(action.type == \"db.query\" || resource.env == \"prod\")",
            "(action.type == \"iam.grant\" && action.params.flag)",
            "(action.params.rows > 1000 || action.type in [\"iam.grant\"])",
            "(resource.env == \"prod\" ? action.params.readonly : true)",
            "size(resource.tags) > 1",
            "requester.attributes.team == \"red\"",
            "has(action.params.nested.x)",
            "now > timestamp(\"2020-01-01T00:00:00Z\")",
            "true",
            "false");

    static final List<String> EFFECTS = List.of(
            "decision: allow",
            "decision: allow, grant_ttl: 2m",
            "decision: deny, reason: no",
            "decision: deny, reason: never",
            "decision: require_approval, approvals: [{ group: sec }]",
            "decision: require_approval, approvals: [{ group: sec, count: 2 }], pending_ttl: 20m",
            "decision: require_approval, approvals: [{ user: root }], reason_required: true, notify: [email]");

    record Sample(Principal requester, ActionRequest request) {}

    @Property(tries = 400)
    void decideAgreesWithRunningEveryRuleInCel(
            @ForAll("policies") String yaml, @ForAll("samples") List<Sample> samples) {
        Policy policy = Policy.parse(yaml);
        for (Sample s : samples) {
            List<Rule> candidates = Arrays.asList(policy.candidates(s.request()));
            for (Rule rule : policy.rules()) {
                Rule.Result full = rule.evaluateInCel(inputs(s));
                Rule.Result fast = candidates.stream().anyMatch(c -> c == rule)
                        ? rule.evaluate(inputs(s))
                        : Rule.Result.NOT_MATCHED;
                assertThat(outcome(fast)).as("%s on %s", rule.match(), s).isEqualTo(outcome(full));
            }
            assertThat(policy.decide(s.requester(), s.request(), NOW))
                    .as("%s", s)
                    .isEqualTo(policy.explain(s.requester(), s.request(), NOW).decision());
        }
    }

    private static CelInputs inputs(Sample s) {
        return new CelInputs(s.requester(), s.request(), NOW);
    }

    private static String outcome(Rule.Result r) {
        return r.matched() ? "matched" : r.error() != null ? "error" : "no match";
    }

    @Provide
    Arbitrary<String> policies() {
        Arbitrary<String> rule = Combinators.combine(matches(), Arbitraries.of(EFFECTS))
                .as((match, effect) -> "match: '" + match + "', " + effect);
        return rule.list().ofMinSize(1).ofMaxSize(6).map(PolicyEquivalencePropertiesTest::yaml);
    }

    private static String yaml(List<String> rules) {
        return "version: 1\ndefault: { decision: deny, reason: nothing matched }\nrules:\n"
                + IntStream.range(0, rules.size())
                        .mapToObj(i -> "  - { name: r" + i + ", " + rules.get(i) + " }\n")
                        .collect(Collectors.joining());
    }

    /** A conjunction of 1-4 conjuncts, grouped three ways, or two conjunctions joined by {@code ||}. */
    Arbitrary<String> matches() {
        Arbitrary<String> conjunct =
                Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.of(GUARDS)), Tuple.of(2, Arbitraries.of(OTHERS)));
        Arbitrary<String> conjunction = Combinators.combine(
                        conjunct.list().ofMinSize(1).ofMaxSize(4),
                        Arbitraries.integers().between(0, 2))
                .as(PolicyEquivalencePropertiesTest::join);
        return Arbitraries.oneOf(
                conjunction,
                conjunction,
                conjunction,
                Combinators.combine(conjunction, conjunction).as((a, b) -> "(" + a + ") || (" + b + ")"));
    }

    private static String join(List<String> conjuncts, int grouping) {
        if (conjuncts.size() < 3 || grouping == 0) return String.join(" && ", conjuncts);
        String head = conjuncts.getFirst();
        String tail = String.join(" && ", conjuncts.subList(1, conjuncts.size()));
        if (grouping == 1) return head + " && (" + tail + ")";
        String last = conjuncts.getLast();
        return "(" + String.join(" && ", conjuncts.subList(0, conjuncts.size() - 1)) + ") && " + last;
    }

    @Provide
    Arbitrary<List<Sample>> samples() {
        return sample().list().ofMinSize(1).ofMaxSize(12);
    }

    private Arbitrary<Sample> sample() {
        return Combinators.combine(requesters(), actions(), resources(), contexts(), Arbitraries.of("", "carol"))
                .as((who, action, resource, context, onBehalfOf) -> new Sample(
                        who,
                        new ActionRequest(action, resource, "why", onBehalfOf.isEmpty() ? null : onBehalfOf, context)));
    }

    private Arbitrary<Principal> requesters() {
        Arbitrary<Principal> agents = Combinators.combine(
                        Arbitraries.of("m1", "m2").injectNull(0.3),
                        Arbitraries.of("high", "low").injectNull(0.3),
                        Arbitraries.of(Set.<String>of(), Set.of("ops")),
                        Arbitraries.of(Map.<String, String>of(), Map.of("team", "red")))
                .as((model, risk, groups, attributes) ->
                        new Principal("agent-7", PrincipalKind.AGENT, groups, "alice", model, risk, attributes));
        return Arbitraries.oneOf(
                agents,
                Arbitraries.just(Principal.human("bob", Set.of("ops"))),
                Arbitraries.just(new Principal("svc-1", PrincipalKind.SERVICE, Set.of(), null, null, null, null)));
    }

    private Arbitrary<Action> actions() {
        Arbitrary<Object> rows = Arbitraries.<Object>of(
                        10L, 5000L, -5L, "many", F.nullNode(), F.numberNode(5000.5), F.numberNode(10.0), HUGE)
                .injectNull(0.3);
        Arbitrary<Object> readonly =
                Arbitraries.<Object>of(true, false, "yes", 1L).injectNull(0.3);
        Arbitrary<Object> flag =
                Arbitraries.<Object>of(true, false, "yes", F.nullNode()).injectNull(0.3);
        Arbitrary<Object> region =
                Arbitraries.<Object>of("eu", "ap", 5L, F.arrayNode().add("eu")).injectNull(0.4);
        Arbitrary<Object> nested =
                Arbitraries.<Object>of(F.objectNode().put("x", 1)).injectNull(0.6);
        Arbitrary<ObjectNode> params = Combinators.combine(rows, readonly, flag, region, nested)
                .as((r, ro, f, re, n) -> {
                    ObjectNode p = F.objectNode();
                    put(p, "rows", r);
                    put(p, "readonly", ro);
                    put(p, "flag", f);
                    put(p, "region", re);
                    put(p, "nested", n);
                    return p;
                });
        return Combinators.combine(Arbitraries.of("db.query", "db.export", "iam.grant", "shell.exec"), params)
                .as(Action::new);
    }

    private static void put(ObjectNode node, String key, Object value) {
        switch (value) {
            case null -> {}
            case Boolean b -> node.put(key, b);
            case Long l -> node.put(key, l);
            case String s -> node.put(key, s);
            case com.fasterxml.jackson.databind.JsonNode j -> node.set(key, j);
            default -> throw new IllegalArgumentException(value.toString());
        }
    }

    private Arbitrary<Resource> resources() {
        return Combinators.combine(
                        Arbitraries.of("prod", "staging", "dev", ""),
                        Arbitraries.of("pii", "secret", "audit")
                                .list()
                                .uniqueElements()
                                .ofMaxSize(3),
                        Arbitraries.of("", "sales"))
                .as((env, tags, domain) -> new Resource("table", "orders", env, tags, domain));
    }

    private Arbitrary<ObjectNode> contexts() {
        return Arbitraries.<Object>of("nightly", "adhoc", 7L).injectNull(0.4).map(p -> {
            ObjectNode context = F.objectNode();
            put(context, "pipeline", p);
            return context;
        });
    }
}
