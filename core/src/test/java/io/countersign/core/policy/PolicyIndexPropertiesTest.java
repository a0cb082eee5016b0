package io.countersign.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.ActionRequest;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The action-type index is an optimisation only: decide (indexed) and explain (every rule) agree. */
class PolicyIndexPropertiesTest {
    static final Policy MIXED = PolicyTest.withRules("""
              - { name: query-ok, match: 'action.type == "db.query" && action.params.readonly == true', decision: allow }
              - { name: export-pii, match: 'action.type == "db.export" && "pii" in resource.tags', decision: require_approval, approvals: [{ group: owners, count: 2 }], pending_ttl: 20m }
              - { name: export-any, match: 'action.type in ["db.export", "db.copy"]', decision: require_approval, approvals: [{ group: owners }] }
              - { name: shell-broken, match: 'action.type == "shell.exec" && action.params.missing == 1', decision: deny }
              - { name: grant-either, match: '(action.type == "iam.grant") || (action.type == "iam.revoke")', decision: require_approval, approvals: [{ user: root }] }
              - { name: never, match: 'action.type == "db.query" && action.type == "db.export"', decision: deny }
              - { name: prod-secret, match: 'resource.env == "prod" && "secret" in resource.tags', decision: deny }
              - { name: staging-ok, match: 'resource.env == "staging"', decision: allow }
              - { name: broken-allow, match: 'action.params.missing == 1', decision: allow }
              - { name: broken-ask, match: '"audit" in resource.tags && action.params.missing > 0', decision: require_approval, approvals: [{ group: audit }] }
            """);

    @Property
    void decideAndExplainAgree(
            @ForAll("types") String type,
            @ForAll("envs") String env,
            @ForAll("tags") List<String> tags,
            @ForAll boolean readonly) {
        ObjectNode params = PolicyTest.F.objectNode().put("readonly", readonly);
        ActionRequest request = PolicyTest.request(type, params, env, tags);

        assertThat(MIXED.decide(PolicyTest.AGENT, request, PolicyTest.NOW))
                .isEqualTo(
                        MIXED.explain(PolicyTest.AGENT, request, PolicyTest.NOW).decision());
    }

    @Provide
    Arbitrary<String> types() {
        return Arbitraries.of(
                "db.query", "db.export", "db.copy", "shell.exec", "iam.grant", "iam.revoke", "mcp.tool", "never");
    }

    @Provide
    Arbitrary<String> envs() {
        return Arbitraries.of("prod", "staging", "");
    }

    @Provide
    Arbitrary<List<String>> tags() {
        return Arbitraries.of("pii", "secret", "audit", "finance")
                .list()
                .uniqueElements()
                .ofMaxSize(4);
    }
}
