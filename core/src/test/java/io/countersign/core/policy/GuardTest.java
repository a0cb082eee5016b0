package io.countersign.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.core.policy.CelInputs.Field;
import io.countersign.core.policy.CelInputs.JsonObject;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GuardTest {
    static Rule rule(String match) {
        return Rule.compile(0, "r", match, new Effect.Deny("no"), "rule 'r'");
    }

    @Test
    void takesEachFormOfGuard() {
        Rule rule = rule("resource.env == \"prod\" && \"staging\" != resource.env && requester.kind != \"human\""
                + " && action.type in [\"a\", \"b\"] && \"pii\" in resource.tags && \"ops\" in requester.groups"
                + " && has(action.params.rows) && has(context.pipeline)");

        assertThat(rule.guards())
                .containsExactly(
                        new Guard.OneOf(Field.RESOURCE_ENV, Set.of("prod")),
                        new Guard.NoneOf(Field.RESOURCE_ENV, Set.of("staging")),
                        new Guard.NoneOf(Field.REQUESTER_KIND, Set.of("human")),
                        new Guard.OneOf(Field.ACTION_TYPE, Set.of("a", "b")),
                        new Guard.Contains(Field.RESOURCE_TAGS, "pii"),
                        new Guard.Contains(Field.REQUESTER_GROUPS, "ops"),
                        new Guard.Has(JsonObject.ACTION_PARAMS, "rows"),
                        new Guard.Has(JsonObject.CONTEXT, "pipeline"));
    }

    @Test
    void takesComparisonsOfJsonKeysWithLiterals() {
        Rule rule = rule("action.params.readonly == true && \"eu\" != context.region && action.params.rows > 10"
                + " && 10 >= action.params.rows && action.params.region in [\"eu\", \"us\"]");

        assertThat(rule.guards())
                .containsExactly(
                        new Guard.JsonEquals(JsonObject.ACTION_PARAMS, "readonly", true, true),
                        new Guard.JsonEquals(JsonObject.CONTEXT, "region", "eu", false),
                        new Guard.JsonOrder(JsonObject.ACTION_PARAMS, "rows", "_>_", 10L),
                        new Guard.JsonOrder(JsonObject.ACTION_PARAMS, "rows", "_<=_", 10L),
                        new Guard.JsonOneOf(JsonObject.ACTION_PARAMS, "region", Set.of("eu", "us")));
    }

    @Test
    void isUnsureOfAJsonKeyThatIsMissingOrOfAnotherKind() {
        Guard rows = rule("action.params.rows > 10").guards().getFirst();

        assertThat(rows.test(inputs(PolicyTest.F.objectNode().put("rows", 11)))).isEqualTo(Guard.Verdict.TRUE);
        assertThat(rows.test(inputs(PolicyTest.F.objectNode().put("rows", 10)))).isEqualTo(Guard.Verdict.FALSE);
        assertThat(rows.test(inputs(PolicyTest.F.objectNode()))).isEqualTo(Guard.Verdict.UNSURE);
        assertThat(rows.test(inputs(PolicyTest.F.objectNode().put("rows", 11.5))))
                .isEqualTo(Guard.Verdict.UNSURE);
        assertThat(rows.test(inputs(PolicyTest.F.objectNode().put("rows", "11"))))
                .isEqualTo(Guard.Verdict.UNSURE);
        assertThat(rows.test(inputs(PolicyTest.F.objectNode().putNull("rows")))).isEqualTo(Guard.Verdict.UNSURE);
    }

    private static CelInputs inputs(com.fasterxml.jackson.databind.node.ObjectNode params) {
        return new CelInputs(
                PolicyTest.AGENT, PolicyTest.request("db.query", params, "prod", List.of()), PolicyTest.NOW);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "resource.env == requester.id",
                "resource.tags == [\"pii\"]",
                "resource.env in resource.tags",
                "\"pii\" in action.params.tags",
                "\"a\" in requester.attributes",
                "requester.attributes.team == \"red\"",
                "action[\"type\"] == \"a\"",
                "has(action.params.nested.x)",
                "has(resource.env)",
                "resource.env.startsWith(\"prod\")",
                "!(resource.env == \"prod\")",
                "resource.env == \"prod\" || requester.kind == \"agent\"",
                "[\"prod\"].exists(resource, resource == \"prod\")",
                "resource.env in [\"prod\", 1]",
                "action.params.rows > 1.5",
                "action.params.rows == 10.0",
                "action.params.rows == null",
                "action.params.rows > action.params.limit",
                "action.params.nested.x == 1",
                "action.params[\"rows\"] > 1",
                "context.a.b == \"x\"",
                "action.params.region in [\"eu\", 1]"
            })
    void takesNoGuardFromOtherConjuncts(String match) {
        assertThat(rule(match).guards()).isEmpty();
    }

    @Test
    void takesNoGuardWhenAConjunctMayNotBeABool() {
        // The runtime throws on a non-bool operand of && before it looks at the other side, so a
        // failing guard would not make this match false.
        assertThat(rule("action.params.flag && resource.env == \"prod\"").guards())
                .isEmpty();
    }

    @Test
    void keepsTheOtherConjunctsAsTheResidualProgram() {
        Rule rule = rule("resource.env == \"prod\" && action.params.rows > 10.5 && \"pii\" in resource.tags");

        assertThat(rule.guards()).hasSize(2);
        assertThat(rule.residual()).isNotSameAs(rule.program());
    }

    @Test
    void runsTheWholeProgramWhenThereAreNoGuards() {
        Rule rule = rule("action.params.rows > 10.5");

        assertThat(rule.guards()).isEmpty();
        assertThat(rule.residual()).isSameAs(rule.program());
    }

    @Test
    void decidesWithoutCelWhenOnlyGuardsHold() {
        Policy policy = PolicyTest.withRules("""
                  - { name: ok, match: 'resource.env == "prod" && "pii" in resource.tags', decision: allow }
                """);

        assertThat(PolicyTest.decide(
                                policy,
                                PolicyTest.request("db.export", PolicyTest.F.objectNode(), "prod", List.of("pii")))
                        .matchedRules())
                .containsExactly("ok");
        assertThat(PolicyTest.decide(
                                policy,
                                PolicyTest.request("db.export", PolicyTest.F.objectNode(), "dev", List.of("pii")))
                        .matchedRules())
                .containsExactly("default");
    }
}
