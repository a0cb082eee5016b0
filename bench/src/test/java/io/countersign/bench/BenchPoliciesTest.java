package io.countersign.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.bench.PolicyDecisionBenchmark.Kind;
import io.countersign.bench.PolicyDecisionBenchmark.Shape;
import io.countersign.core.Decision;
import io.countersign.core.policy.Policy;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class BenchPoliciesTest {
    private static final Instant NOW = Instant.parse("2025-03-03T09:00:00Z");

    @Test
    void bothShapesHaveTwoHundredRules() {
        for (Shape shape : Shape.values()) {
            assertThat(Policy.parse(BenchPolicies.yaml(shape)).ruleNames()).hasSize(BenchPolicies.RULES);
        }
    }

    @Test
    void eachRequestGetsTheDecisionItIsNamedFor() {
        for (Shape shape : Shape.values()) {
            Policy policy = Policy.parse(BenchPolicies.yaml(shape));
            for (Kind kind : Kind.values()) {
                Decision d = policy.decide(BenchPolicies.requester(), BenchPolicies.request(kind), NOW);
                assertThat(d).as("%s %s", shape, kind).isInstanceOf(BenchPolicies.expected(kind));
            }
        }
    }

    @Test
    void theUnindexedPolicyMatchesTheSameRulesAsTheIndexedOne() {
        Policy indexed = Policy.parse(BenchPolicies.yaml(Shape.INDEXED));
        Policy unindexed = Policy.parse(BenchPolicies.yaml(Shape.UNINDEXED));
        for (Kind kind : Kind.values()) {
            var request = BenchPolicies.request(kind);
            assertThat(unindexed.decide(BenchPolicies.requester(), request, NOW).matchedRules())
                    .isEqualTo(indexed.decide(BenchPolicies.requester(), request, NOW)
                            .matchedRules());
        }
    }

    @Test
    void theUnindexedPolicyEvaluatesNoRuleWithoutErrors() {
        var explanation = Policy.parse(BenchPolicies.yaml(Shape.UNINDEXED))
                .explain(BenchPolicies.requester(), BenchPolicies.request(Kind.REQUIRE_APPROVAL), NOW);
        assertThat(explanation.rules()).allSatisfy(r -> assertThat(r.error()).isNull());
    }
}
