package io.countersign.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Action;
import io.countersign.core.ActionRequest;
import io.countersign.core.ApprovalRequirement;
import io.countersign.core.Decision;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.core.Resource;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PolicyTest {
    static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");
    static final Principal AGENT = Principal.agent("agent-7", "alice");
    static final JsonNodeFactory F = JsonNodeFactory.instance;

    static final String EXAMPLE = """
            version: 1
            default: { decision: require_approval, approvals: [{ group: security, count: 1 }], pending_ttl: 1h }
            rules:
              - name: reads-are-fine
                match: action.type == "db.query" && action.params.readonly == true
                decision: allow
              - name: pii-export-in-prod
                match: action.type == "db.export" && "pii" in resource.tags && resource.env == "prod"
                decision: require_approval
                approvals: [{ group: data-owners, count: 2 }]
                pending_ttl: 30m
                grant_ttl: 10m
                reason_required: true
              - name: no-self-escalation
                match: action.type == "iam.grant" && action.params.principal == requester.id
                decision: deny
                reason: an identity may not grant privileges to itself
            """;

    static Policy withRules(String rules) {
        return Policy.parse("version: 1\ndefault: { decision: deny, reason: nothing matched }\nrules:\n" + rules);
    }

    static ActionRequest request(String type, ObjectNode params, String env, List<String> tags) {
        return new ActionRequest(
                new Action(type, params), new Resource("table", "orders", env, tags, "sales"), "why", null, null);
    }

    static ActionRequest request(String type) {
        return request(type, F.objectNode(), "prod", List.of());
    }

    static Decision decide(Policy policy, ActionRequest request) {
        return policy.decide(AGENT, request, NOW);
    }

    @Test
    void denyWinsOverRequireApprovalAndAllow() {
        Policy policy = withRules("""
                  - { name: ok, match: 'true', decision: allow }
                  - { name: ask, match: 'true', decision: require_approval, approvals: [{ group: sec }] }
                  - { name: nope, match: 'true', decision: deny, reason: not today }
                """);

        Decision d = decide(policy, request("db.export"));

        assertThat(d).isInstanceOfSatisfying(Decision.Deny.class, deny -> {
            assertThat(deny.reason()).isEqualTo("not today");
            assertThat(deny.matchedRules()).containsExactly("nope");
        });
    }

    @Test
    void requireApprovalWinsOverAllow() {
        Policy policy = withRules("""
                  - { name: ok, match: 'true', decision: allow }
                  - { name: ask, match: 'true', decision: require_approval, approvals: [{ group: sec }] }
                """);

        assertThat(decide(policy, request("db.export")))
                .isInstanceOf(Decision.RequireApproval.class)
                .extracting(Decision::matchedRules)
                .isEqualTo(List.of("ask"));
    }

    @Test
    void mergesMatchingApprovalRules() {
        Policy policy = withRules("""
                  - name: a
                    match: 'true'
                    decision: require_approval
                    approvals: [{ group: sec, count: 1 }, { user: bob }]
                    pending_ttl: 2h
                    grant_ttl: 5m
                  - name: b
                    match: 'true'
                    decision: require_approval
                    approvals: [{ group: sec, count: 3 }, { group: dba, count: 2 }]
                    pending_ttl: 30m
                    grant_ttl: 15m
                    reason_required: true
                """);

        Decision.RequireApproval d = (Decision.RequireApproval) decide(policy, request("db.export"));

        assertThat(d.approvals())
                .containsExactlyInAnyOrder(
                        new ApprovalRequirement(Set.of("sec"), Set.of(), 3),
                        new ApprovalRequirement(Set.of(), Set.of("bob"), 1),
                        new ApprovalRequirement(Set.of("dba"), Set.of(), 2));
        assertThat(d.pendingTtl()).isEqualTo(Duration.ofMinutes(30));
        assertThat(d.grantTtl()).isEqualTo(Duration.ofMinutes(5));
        assertThat(d.reasonRequired()).isTrue();
        assertThat(d.matchedRules()).containsExactly("a", "b");
    }

    @Test
    void keepsTheLargerCountWhenTheLargerComesFirst() {
        Policy policy = withRules("""
                  - { name: a, match: 'true', decision: require_approval, approvals: [{ group: sec, count: 2 }] }
                  - { name: b, match: 'true', decision: require_approval, approvals: [{ group: sec, count: 1 }] }
                """);

        Decision.RequireApproval d = (Decision.RequireApproval) decide(policy, request("db.export"));

        assertThat(d.approvals()).containsExactly(new ApprovalRequirement(Set.of("sec"), Set.of(), 2));
        assertThat(d.reasonRequired()).isFalse();
    }

    @Test
    void allowsWhenOnlyAllowRulesMatch() {
        Policy policy = withRules("""
                  - { name: ok, match: 'action.type == "db.query"', decision: allow, grant_ttl: 2m }
                  - { name: ok-too, match: 'true', decision: allow }
                  - { name: nope, match: 'action.type == "db.drop"', decision: deny }
                """);

        Decision d = decide(policy, request("db.query"));

        assertThat(d).isEqualTo(new Decision.Allow(List.of("ok", "ok-too"), policy.version(), Duration.ofMinutes(2)));
    }

    @Test
    void appliesTheDefaultWhenNothingMatches() {
        Policy policy = withRules("""
                  - { name: ok, match: 'action.type == "db.query"', decision: allow }
                """);

        Decision d = decide(policy, request("db.export"));

        assertThat(d).isEqualTo(new Decision.Deny("nothing matched", List.of("default"), policy.version()));
    }

    @Test
    void versionIsTheSha256OfTheFileBytes() throws Exception {
        byte[] hash = MessageDigest.getInstance("SHA-256").digest(EXAMPLE.getBytes(StandardCharsets.UTF_8));

        assertThat(Policy.parse(EXAMPLE).version())
                .isEqualTo("sha256:" + HexFormat.of().formatHex(hash));
    }

    @Test
    void versionChangesWhenTheFileChanges() {
        assertThat(Policy.parse(EXAMPLE + "# a comment\n").version())
                .isNotEqualTo(Policy.parse(EXAMPLE).version())
                .startsWith("sha256:");
    }

    @Test
    void decisionsRecordThePolicyVersion() {
        Policy policy = Policy.parse(EXAMPLE);

        assertThat(decide(policy, request("db.export")).policyVersion()).isEqualTo(policy.version());
    }

    @Test
    void designExampleAllowsReadOnlyQueries() {
        ActionRequest query = request("db.query", F.objectNode().put("readonly", true), "prod", List.of());

        assertThat(decide(Policy.parse(EXAMPLE), query)).isInstanceOf(Decision.Allow.class);
    }

    @Test
    void designExampleAsksTwoDataOwnersForPiiExportsInProd() {
        ActionRequest export = request("db.export", F.objectNode(), "prod", List.of("pii", "finance"));

        Decision.RequireApproval d = (Decision.RequireApproval) decide(Policy.parse(EXAMPLE), export);

        assertThat(d.approvals()).containsExactly(new ApprovalRequirement(Set.of("data-owners"), Set.of(), 2));
        assertThat(d.pendingTtl()).isEqualTo(Duration.ofMinutes(30));
        assertThat(d.grantTtl()).isEqualTo(Duration.ofMinutes(10));
        assertThat(d.reasonRequired()).isTrue();
        assertThat(d.matchedRules()).containsExactly("pii-export-in-prod");
    }

    @Test
    void designExampleFallsBackToTheDefaultForExportsOutsideProd() {
        ActionRequest export = request("db.export", F.objectNode(), "staging", List.of("pii"));

        Decision.RequireApproval d = (Decision.RequireApproval) decide(Policy.parse(EXAMPLE), export);

        assertThat(d.matchedRules()).containsExactly("default");
        assertThat(d.approvals()).containsExactly(new ApprovalRequirement(Set.of("security"), Set.of(), 1));
        assertThat(d.pendingTtl()).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void designExampleDeniesSelfEscalation() {
        ActionRequest grant = request("iam.grant", F.objectNode().put("principal", "agent-7"), "prod", List.of());

        assertThat(decide(Policy.parse(EXAMPLE), grant))
                .isEqualTo(new Decision.Deny(
                        "an identity may not grant privileges to itself",
                        List.of("no-self-escalation"),
                        Policy.parse(EXAMPLE).version()));
    }

    @Test
    void designExampleLetsAGrantToSomeoneElseGoToTheDefault() {
        ActionRequest grant = request("iam.grant", F.objectNode().put("principal", "bob"), "prod", List.of());

        assertThat(decide(Policy.parse(EXAMPLE), grant).matchedRules()).containsExactly("default");
    }

    @Test
    void matchesOnRequesterModelAndRiskTier() {
        Policy policy = withRules("""
                  - { name: ok, match: 'requester.model == "m1" && requester.risk_tier == "low"', decision: allow }
                """);
        Principal agent = new Principal("agent-7", PrincipalKind.AGENT, Set.of(), "alice", "m1", "low", Map.of());

        assertThat(policy.decide(agent, request("db.export"), NOW)).isInstanceOf(Decision.Allow.class);
        assertThat(decide(policy, request("db.export"))).isInstanceOf(Decision.Deny.class);
    }

    @Test
    void anErroringDenyCountsAsMatched() {
        Policy policy = withRules("""
                  - { name: ok, match: 'true', decision: allow }
                  - { name: nope, match: 'action.params.missing == 1', decision: deny }
                """);

        assertThat(decide(policy, request("db.export")))
                .isInstanceOf(Decision.Deny.class)
                .extracting(Decision::matchedRules)
                .isEqualTo(List.of("nope"));
    }

    @Test
    void aDenyPinnedToAnotherTypeStillCountsWhenItsOtherOperandIsNotABool() {
        // Regression: the action-type index skipped this rule for db.export, so the deny's error
        // (a string where && needs a bool) did not count, and the request was allowed.
        Policy policy = withRules("""
                  - { name: ok, match: 'true', decision: allow }
                  - { name: nope, match: 'action.params.flag && action.type == "db.query"', decision: deny }
                """);
        ActionRequest export = request("db.export", F.objectNode().put("flag", "yes"), "prod", List.of());

        assertThat(decide(policy, export)).isInstanceOf(Decision.Deny.class);
        assertThat(decide(policy, export))
                .isEqualTo(policy.explain(AGENT, export, NOW).decision());
    }

    @Test
    void anErroringRequireApprovalCountsAsMatched() {
        Policy policy = withRules("""
                  - { name: ok, match: 'true', decision: allow }
                  - { name: ask, match: 'action.params.missing > 1', decision: require_approval, approvals: [{ group: s }] }
                """);

        assertThat(decide(policy, request("db.export"))).isInstanceOf(Decision.RequireApproval.class);
    }

    @Test
    void anErroringAllowCountsAsNotMatched() {
        Policy policy = withRules("""
                  - { name: ok, match: 'action.params.missing == 1', decision: allow }
                """);

        assertThat(decide(policy, request("db.export")).matchedRules()).containsExactly("default");
    }

    @Test
    void aNonBoolResultAtRuntimeIsAnError() {
        Policy policy = withRules("""
                  - { name: ok, match: 'action.params.flag', decision: allow }
                  - { name: nope, match: 'action.params.flag', decision: deny }
                """);

        Explanation e =
                policy.explain(AGENT, request("db.export", F.objectNode().put("flag", "yes"), "", null), NOW);

        assertThat(e.rules()).allSatisfy(r -> assertThat(r.error()).isNotNull());
        assertThat(e.decision()).isInstanceOf(Decision.Deny.class);
    }

    @Test
    void explainListsEveryRuleWithItsResultAndError() {
        Policy policy = withRules("""
                  - { name: ok, match: 'true', decision: allow }
                  - { name: never, match: 'false', decision: deny }
                  - { name: broken, match: 'action.params.missing == 1', decision: allow }
                """);

        Explanation e = policy.explain(AGENT, request("db.export"), NOW);

        assertThat(e.rules()).extracting(Explanation.RuleResult::rule).containsExactly("ok", "never", "broken");
        assertThat(e.rules()).extracting(Explanation.RuleResult::effect).containsExactly("allow", "deny", "allow");
        assertThat(e.rules()).extracting(Explanation.RuleResult::matched).containsExactly(true, false, false);
        assertThat(e.rules().get(0).error()).isNull();
        assertThat(e.rules().get(2).error()).isNotBlank();
        assertThat(e.defaultApplied()).isFalse();
        assertThat(e.decision()).isInstanceOf(Decision.Allow.class);
    }

    @Test
    void explainSaysWhenTheDefaultApplied() {
        Explanation e = withRules("  - { name: never, match: 'false', decision: allow }\n")
                .explain(AGENT, request("db.export"), NOW);

        assertThat(e.defaultApplied()).isTrue();
        assertThat(e.decision().matchedRules()).containsExactly("default");
    }

    @Test
    void integersBeyondALongReachPolicyUntruncated() {
        Policy policy = withRules("  - { name: small, match: 'action.params.amount < 1000', decision: allow }\n");
        ObjectNode params = F.objectNode().put("amount", BigInteger.TWO.pow(64).add(BigInteger.ONE));

        assertThat(decide(policy, request("db.export", params, "", null))).isInstanceOf(Decision.Deny.class);
    }

    @Test
    void seesContextAndNow() {
        Policy policy = withRules("""
                  - { name: ok, match: 'context.pipeline == "ci" && now > timestamp("2025-01-01T00:00:00Z")', decision: allow }
                """);
        ActionRequest withContext = new ActionRequest(
                new Action("db.export", null),
                new Resource("table", "t", null, null, null),
                null,
                null,
                F.objectNode().put("pipeline", "ci"));

        assertThat(decide(policy, withContext)).isInstanceOf(Decision.Allow.class);
    }

    @Test
    void listsRuleNamesInFileOrder() {
        assertThat(Policy.parse(EXAMPLE).ruleNames())
                .containsExactly("reads-are-fine", "pii-export-in-prod", "no-self-escalation");
    }
}
