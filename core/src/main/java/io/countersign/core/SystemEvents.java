package io.countersign.core;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.policy.Policy;
import java.time.Instant;

/** Ledger events that concern no single request: the server's policy and its ledger key. */
public final class SystemEvents {
    private SystemEvents() {}

    /** The server loaded {@code policy} from {@code source}: every decision after it names this version. */
    public static LedgerEvent policyLoaded(Policy policy, String source, Instant at) {
        ObjectNode d = JsonNodeFactory.instance
                .objectNode()
                .put("policy_version", policy.version())
                .put("source", source);
        policy.ruleNames().forEach(d.putArray("rules")::add);
        return new LedgerEvent("policy.loaded", null, at, RequestEvents.SYSTEM, d);
    }

    /** Checkpoints are signed from now on by {@code key} instead of {@code previous} (verifier keys). */
    public static LedgerEvent keyRotated(String previous, String key, Instant at) {
        ObjectNode d = JsonNodeFactory.instance
                .objectNode()
                .put("previous_key", previous)
                .put("key", key);
        return new LedgerEvent("ledger.key_rotated", null, at, RequestEvents.SYSTEM, d);
    }
}
