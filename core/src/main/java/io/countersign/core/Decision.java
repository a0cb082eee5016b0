package io.countersign.core;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What policy said about a request. Every decision names the policy version (hash of the policy
 * file) that made it and the rules that matched.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "outcome")
@JsonSubTypes({
    @JsonSubTypes.Type(value = Decision.Allow.class, name = "allow"),
    @JsonSubTypes.Type(value = Decision.Deny.class, name = "deny"),
    @JsonSubTypes.Type(value = Decision.RequireApproval.class, name = "require_approval")
})
public sealed interface Decision {
    List<String> matchedRules();

    String policyVersion();

    /** Runs without review; a grant is issued at once. */
    record Allow(List<String> matchedRules, String policyVersion, Duration grantTtl) implements Decision {
        public Allow {
            matchedRules = List.copyOf(matchedRules);
            Objects.requireNonNull(policyVersion, "policyVersion");
            Objects.requireNonNull(grantTtl, "grantTtl");
        }
    }

    /** Refused, with the reason policy gives. */
    record Deny(String reason, List<String> matchedRules, String policyVersion) implements Decision {
        public Deny {
            Objects.requireNonNull(reason, "reason");
            matchedRules = List.copyOf(matchedRules);
            Objects.requireNonNull(policyVersion, "policyVersion");
        }
    }

    /**
     * Waits for people. Every requirement must be met, each slot by a different eligible human.
     *
     * @param approvals the quorums that must all be met
     * @param pendingTtl how long the request may wait for them
     * @param grantTtl how long the grant lasts once issued
     * @param reasonRequired whether an approval must carry a reason
     * @param channels the channels to ask the approvers through ({@code slack}, {@code slack:C0123},
     *     {@code teams}, {@code email}); empty means every configured channel
     */
    record RequireApproval(
            List<ApprovalRequirement> approvals,
            Duration pendingTtl,
            Duration grantTtl,
            boolean reasonRequired,
            List<String> matchedRules,
            String policyVersion,
            List<String> channels)
            implements Decision {
        public RequireApproval {
            approvals = List.copyOf(approvals);
            if (approvals.isEmpty()) throw new IllegalArgumentException("require_approval needs approvals");
            Objects.requireNonNull(pendingTtl, "pendingTtl");
            Objects.requireNonNull(grantTtl, "grantTtl");
            matchedRules = List.copyOf(matchedRules);
            Objects.requireNonNull(policyVersion, "policyVersion");
            channels = channels == null ? List.of() : List.copyOf(channels);
        }
    }
}
