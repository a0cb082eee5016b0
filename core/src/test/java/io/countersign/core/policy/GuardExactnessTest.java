package io.countersign.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Action;
import io.countersign.core.ActionRequest;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.core.Resource;
import java.math.BigInteger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every guard form against every kind of value: whenever a guard is sure, CEL gives its conjunct
 * that value (and no error). Exhaustive over the values that sit on each guard's edges: a missing
 * key, each JSON kind, numbers equal to the literal as an int and as a double, integers beyond a
 * long.
 */
class GuardExactnessTest {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");

    static final List<String> JSON_GUARDS = List.of(
            "has(%s)",
            "%s == 10",
            "10 == %s",
            "%s != 10",
            "%s == -5",
            "%s == true",
            "%s != false",
            "%s == \"eu\"",
            "\"eu\" != %s",
            "%s in [\"eu\", \"us\"]",
            "%s in []",
            "%s > 10",
            "%s >= 10",
            "%s < 10",
            "%s <= 10",
            "10 < %s",
            "-5 >= %s",
            "%s > 9223372036854775807");

    /** Values for the key; null means the key is missing. */
    static final List<JsonNode> VALUES = values();

    private static List<JsonNode> values() {
        List<JsonNode> v = new ArrayList<>(List.of(
                F.numberNode(10),
                F.numberNode(11L),
                F.numberNode(9),
                F.numberNode(-5),
                F.numberNode(10.0),
                F.numberNode(10.5),
                F.numberNode(-5.0),
                F.numberNode(Long.MAX_VALUE),
                F.numberNode(Long.MIN_VALUE),
                F.numberNode(new BigInteger("100000000000000000000")),
                F.numberNode(new BigInteger("-100000000000000000000")),
                F.textNode("eu"),
                F.textNode("10"),
                F.textNode(""),
                F.booleanNode(true),
                F.booleanNode(false),
                F.nullNode(),
                F.arrayNode().add("eu"),
                F.objectNode().put("eu", 1)));
        v.add(null);
        return v;
    }

    @Test
    void jsonGuardsAgreeWithCelWheneverTheyAreSure() {
        int sure = 0;
        for (String form : JSON_GUARDS) {
            for (String key : List.of("action.params.v", "context.v")) {
                String match = form.formatted(key);
                Rule rule = GuardTest.rule(match);
                assertThat(rule.guards()).as(match).hasSize(1);
                for (JsonNode value : VALUES) {
                    ObjectNode json = F.objectNode();
                    if (value != null) json.set("v", value);
                    ActionRequest request = key.startsWith("context")
                            ? request("db.query", F.objectNode(), json, "prod", List.of())
                            : request("db.query", json, F.objectNode(), "prod", List.of());
                    sure += agree(rule, PolicyTest.AGENT, request, match + " with v=" + value);
                }
            }
        }
        assertThat(sure).as("sure verdicts").isGreaterThan(JSON_GUARDS.size() * 2 * 4);
    }

    @Test
    void fieldGuardsAreAlwaysSureAndAgreeWithCel() {
        List<String> matches = List.of(
                "resource.env == \"prod\"",
                "resource.env != \"prod\"",
                "resource.env in [\"prod\", \"\"]",
                "resource.domain == \"\"",
                "requester.kind == \"agent\"",
                "requester.kind != \"human\"",
                "requester.owner == \"\"",
                "requester.model == \"m1\"",
                "requester.risk_tier == \"\"",
                "requester.on_behalf_of == \"carol\"",
                "requester.id in [\"agent-7\", \"bob\"]",
                "\"pii\" in resource.tags",
                "\"ops\" in requester.groups");
        List<Principal> who = List.of(
                PolicyTest.AGENT,
                new Principal("agent-8", PrincipalKind.AGENT, Set.of("ops"), "alice", "m1", "high", Map.of()),
                Principal.human("bob", Set.of("ops")),
                new Principal("svc-1", PrincipalKind.SERVICE, Set.of(), null, null, null, null));
        for (String match : matches) {
            Rule rule = GuardTest.rule(match);
            assertThat(rule.guards()).as(match).hasSize(1);
            for (Principal p : who) {
                for (String env : List.of("prod", "", "Prod")) {
                    for (List<String> tags : List.of(List.<String>of(), List.of("pii"), List.of("PII", "x"))) {
                        for (String onBehalfOf : new String[] {null, "carol"}) {
                            ActionRequest r = new ActionRequest(
                                    new Action("db.query", F.objectNode()),
                                    new Resource("table", "orders", env, tags, null),
                                    "why",
                                    onBehalfOf,
                                    null);
                            assertThat(agree(rule, p, r, match)).as(match).isEqualTo(1);
                        }
                    }
                }
            }
        }
    }

    /** Checks a sure verdict against CEL; returns 1 if the guard was sure, else 0. */
    private static int agree(Rule rule, Principal who, ActionRequest request, String what) {
        Guard.Verdict verdict = rule.guards().getFirst().test(new CelInputs(who, request, NOW));
        Rule.Result cel = rule.evaluateInCel(new CelInputs(who, request, NOW));
        switch (verdict) {
            case TRUE -> assertThat(cel).as(what).isEqualTo(Rule.Result.MATCHED);
            case FALSE -> assertThat(cel).as(what).isEqualTo(Rule.Result.NOT_MATCHED);
            case UNSURE -> {
                return 0;
            }
        }
        return 1;
    }

    private static ActionRequest request(
            String type, ObjectNode params, ObjectNode context, String env, List<String> tags) {
        return new ActionRequest(
                new Action(type, params), new Resource("table", "orders", env, tags, "sales"), "why", null, context);
    }
}
