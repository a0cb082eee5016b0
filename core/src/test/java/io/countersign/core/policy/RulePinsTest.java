package io.countersign.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RulePinsTest {
    static Set<String> pins(String match) {
        return Rule.compile(0, "r", match, new Effect.Deny("no"), "rule 'r'").pinnedTypes();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "action.type == \"a\" && action.params.x == 1",
                "action.params.x == 1 && action.type == \"a\"",
                "\"a\" == action.type",
                "action.type in [\"a\"]",
                "(action.type == \"a\" || action.type == \"a\") && resource.env == \"prod\""
            })
    void pinsASingleType(String match) {
        assertThat(pins(match)).containsExactly("a");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "action.type in [\"a\", \"b\"]",
                "(action.type == \"a\") || (action.type == \"b\")",
                "(action.type == \"a\" && resource.env == \"prod\") || action.type in [\"b\"]",
                "action.type in [\"a\", \"b\", \"c\"] && action.type in [\"a\", \"b\", \"d\"]"
            })
    void pinsBothTypes(String match) {
        assertThat(pins(match)).containsExactlyInAnyOrder("a", "b");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "true",
                "action.type != \"a\"",
                "!(action.type == \"a\")",
                "action.type == \"a\" || resource.env == \"prod\"",
                "action.type.startsWith(\"db.\")",
                "action[\"type\"] == \"a\"",
                "action.params.type == \"a\"",
                "resource.type == \"a\"",
                "action.type in action.params.types",
                "action.type in [\"a\", action.params.other]",
                "action.type == action.params.other",
                "has(action.type) && action.type != \"\"",
                "action.type == \"a\" ? false : true",
                "[\"a\"].exists(t, t == action.type)"
            })
    void pinsNothingWhenTheMatchCanHoldForAnyType(String match) {
        assertThat(pins(match)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "action.params.flag && action.type == \"a\"",
                "action.type == \"a\" && action.params.flag",
                "(action.params.flag && resource.env == \"prod\") && action.type == \"a\"",
                "action.params.flag || action.type == \"a\""
            })
    void pinsNothingWhenAnOperandMayNotBeABool(String match) {
        // The runtime throws on a non-bool operand of && or || before it looks at the other side:
        // with {"flag": "yes"}, the first is an error (so a deny counts) for every action type.
        assertThat(pins(match)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"action.type == \"a\" && action.type == \"b\""})
    void pinsNoRealTypeWhenTheConjunctsDisagree(String match) {
        assertThat(pins(match)).isNotEmpty().doesNotContain("a", "b");
    }
}
