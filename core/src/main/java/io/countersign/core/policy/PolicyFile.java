package io.countersign.core.policy;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/** The YAML shapes of a policy file, read strictly: an unknown key is an error. */
final class PolicyFile {
    private PolicyFile() {}

    record Top(
            @JsonProperty(required = true) Integer version,

            @JsonProperty(value = "default", required = true)
            JsonNode defaultDecision,

            List<JsonNode> rules,
            Ledger ledger) {}

    /** What the ledger may keep in clear: action type to the names of params whose values are not secret. */
    record Ledger(java.util.Map<String, List<String>> keepInClear) {}

    record Outcome(
            String decision,
            List<Approval> approvals,
            String pendingTtl,
            String grantTtl,
            Boolean reasonRequired,
            String reason,
            @JsonProperty("notify") List<String> channels) {}

    record Rule(
            String name,
            String description,
            String match,
            String decision,
            List<Approval> approvals,
            String pendingTtl,
            String grantTtl,
            Boolean reasonRequired,
            String reason,
            @JsonProperty("notify") List<String> channels) {
        Outcome outcome() {
            return new Outcome(decision, approvals, pendingTtl, grantTtl, reasonRequired, reason, channels);
        }
    }

    record Approval(String group, List<String> groups, String user, List<String> users, Integer count) {}
}
