package io.countersign.core.policy;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PolicyLoadErrorsTest {
    static void refused(String rules, String... fragments) {
        assertThatThrownBy(() -> PolicyTest.withRules(rules))
                .isInstanceOf(PolicyException.class)
                .hasMessageContainingAll(fragments);
    }

    @Test
    void refusesACelSyntaxError() {
        refused("  - { name: x, match: 'action.type ==', decision: allow }\n", "rule 'x'", "does not compile");
    }

    @Test
    void refusesACelTypeError() {
        refused("  - { name: x, match: 'now + 1 > now', decision: deny }\n", "rule 'x'", "does not compile");
    }

    @Test
    void refusesAnIllTypedTimestampSum() {
        refused("  - { name: x, match: 'now + 1', decision: deny }\n", "rule 'x'");
    }

    @Test
    void refusesANonBoolMatch() {
        refused("  - { name: x, match: '1 + 2', decision: deny }\n", "rule 'x'", "bool");
    }

    @Test
    void refusesAnUnknownFieldInARule() {
        refused("  - { name: x, match: 'true', decision: allow, colour: red }\n", "rule 'x'", "colour");
    }

    @Test
    void refusesAnUnknownFieldInAnApproval() {
        refused(
                "  - { name: x, match: 'true', decision: require_approval, approvals: [{ grup: a }] }\n",
                "rule 'x'",
                "grup");
    }

    @Test
    void refusesARuleWithoutAName() {
        refused(
                "  - { name: a, match: 'true', decision: allow }\n  - { match: 'true', decision: allow }\n",
                "rule #2",
                "'name' is required");
    }

    @Test
    void refusesABadRuleName() {
        refused("  - { name: Bad Name, match: 'true', decision: allow }\n", "rule 'Bad Name'", "name must be");
    }

    @Test
    void refusesARuleNamedDefault() {
        refused("  - { name: default, match: 'true', decision: allow }\n", "rule 'default'");
    }

    @Test
    void refusesADuplicateName() {
        refused(
                "  - { name: x, match: 'true', decision: allow }\n  - { name: x, match: 'false', decision: deny }\n",
                "rule 'x'",
                "exists already");
    }

    @Test
    void refusesAMissingMatch() {
        refused("  - { name: x, decision: allow }\n", "rule 'x'", "'match' is required");
    }

    @Test
    void refusesABadDecision() {
        refused("  - { name: x, match: 'true', decision: maybe }\n", "rule 'x'", "maybe");
    }

    @Test
    void refusesAMissingDecision() {
        refused("  - { name: x, match: 'true' }\n", "rule 'x'", "'decision' is required");
    }

    @Test
    void refusesABadDuration() {
        refused(
                "  - { name: x, match: 'true', decision: require_approval, approvals: [{ group: a }], pending_ttl: soon }\n",
                "rule 'x'",
                "pending_ttl",
                "soon");
    }

    @Test
    void refusesADurationBeyondItsMaximum() {
        refused("  - { name: x, match: 'true', decision: allow, grant_ttl: 2d }\n", "rule 'x'", "grant_ttl", "2d");
    }

    @Test
    void refusesApprovalsOnAnAllowRule() {
        refused(
                "  - { name: x, match: 'true', decision: allow, approvals: [{ group: a }] }\n",
                "rule 'x'",
                "'approvals'",
                "allow");
    }

    @Test
    void refusesRequireApprovalWithoutApprovals() {
        refused("  - { name: x, match: 'true', decision: require_approval }\n", "rule 'x'", "approvals");
    }

    @Test
    void refusesAnApprovalCountOfZero() {
        refused(
                "  - { name: x, match: 'true', decision: require_approval, approvals: [{ group: a, count: 0 }] }\n",
                "rule 'x'",
                "count");
    }

    @Test
    void refusesAGrantTtlOnADenyRule() {
        refused("  - { name: x, match: 'true', decision: deny, grant_ttl: 1m }\n", "rule 'x'", "grant_ttl");
    }

    @Test
    void refusesARuleThatSaysItsDecisionTwice() {
        assertThatThrownBy(() -> PolicyTest.withRules(
                        "  - name: x\n    match: 'true'\n    decision: deny\n    decision: allow\n"))
                .isInstanceOf(PolicyException.class)
                .hasMessageContainingAll("decision", "line 7");
    }

    @Test
    void refusesAnotherVersion() {
        assertThatThrownBy(() -> Policy.parse("version: 2\ndefault: { decision: allow }\n"))
                .isInstanceOf(PolicyException.class)
                .hasMessageContaining("version");
    }

    @Test
    void refusesAFileWithoutADefault() {
        assertThatThrownBy(() -> Policy.parse("version: 1\nrules: []\n")).isInstanceOf(PolicyException.class);
    }

    @Test
    void refusesABadDefault() {
        assertThatThrownBy(() -> Policy.parse("version: 1\ndefault: { decision: allow, reason: x }\n"))
                .isInstanceOf(PolicyException.class)
                .hasMessageContaining("default");
    }

    @Test
    void refusesAFileThatIsNotAMapping() {
        assertThatThrownBy(() -> Policy.parse("- just\n- a list\n")).isInstanceOf(PolicyException.class);
    }

    @Test
    void refusesKeepingASecretLookingParamInClear() {
        String yaml = "version: 1\ndefault: { decision: deny, reason: no }\n"
                + "ledger: { keep_in_clear: { http.call: [url, auth_token] } }\n";
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Policy.parse(yaml))
                .isInstanceOf(PolicyException.class)
                .hasMessageContainingAll("ledger.keep_in_clear.http.call", "auth_token", "secret");
    }

    @Test
    void keepsInClearOnlyTheNamedParamsOfTheNamedType() {
        Policy p = Policy.parse("version: 1\ndefault: { decision: deny, reason: no }\n"
                + "ledger: { keep_in_clear: { db.export: [table] } }\n");
        org.assertj.core.api.Assertions.assertThat(p.paramsInClear("db.export")).containsExactly("table");
        org.assertj.core.api.Assertions.assertThat(p.paramsInClear("db.query")).isEmpty();
    }
}
