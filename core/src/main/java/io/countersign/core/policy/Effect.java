package io.countersign.core.policy;

import io.countersign.core.ApprovalRequirement;
import io.countersign.core.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** What a rule (or the default) decides when it matches, validated at load. */
sealed interface Effect {
    Duration DEFAULT_PENDING_TTL = Duration.ofHours(1);
    Duration DEFAULT_GRANT_TTL = Duration.ofMinutes(10);
    Duration MAX_PENDING_TTL = Duration.ofDays(30);
    Duration MAX_GRANT_TTL = Duration.ofHours(24);

    /** Whether a match errors on the safe side: restricting effects count an erroring match as a match. */
    boolean restricts();

    record Allow(Duration grantTtl) implements Effect {
        public boolean restricts() {
            return false;
        }
    }

    record Deny(String reason) implements Effect {
        public boolean restricts() {
            return true;
        }
    }

    record RequireApproval(
            List<ApprovalRequirement> approvals,
            Duration pendingTtl,
            Duration grantTtl,
            boolean reasonRequired,
            List<String> channels)
            implements Effect {
        public boolean restricts() {
            return true;
        }
    }

    static Effect of(PolicyFile.Outcome o, String where) {
        if (o.decision() == null) throw new PolicyException(where + ": 'decision' is required");
        return switch (o.decision()) {
            case "allow" -> allow(o, where);
            case "deny" -> deny(o, where);
            case "require_approval" -> requireApproval(o, where);
            default ->
                throw new PolicyException(
                        where + ": decision must be allow, deny or require_approval; got '" + o.decision() + "'");
        };
    }

    private static Effect allow(PolicyFile.Outcome o, String where) {
        forbid(where, "allow", "approvals", o.approvals());
        forbid(where, "allow", "pending_ttl", o.pendingTtl());
        forbid(where, "allow", "reason_required", o.reasonRequired());
        forbid(where, "allow", "reason", o.reason());
        forbid(where, "allow", "notify", o.channels());
        return new Allow(ttl(where, "grant_ttl", o.grantTtl(), DEFAULT_GRANT_TTL, MAX_GRANT_TTL));
    }

    private static Effect deny(PolicyFile.Outcome o, String where) {
        forbid(where, "deny", "approvals", o.approvals());
        forbid(where, "deny", "pending_ttl", o.pendingTtl());
        forbid(where, "deny", "grant_ttl", o.grantTtl());
        forbid(where, "deny", "reason_required", o.reasonRequired());
        forbid(where, "deny", "notify", o.channels());
        return new Deny(o.reason() == null || o.reason().isBlank() ? "denied by policy (" + where + ")" : o.reason());
    }

    private static Effect requireApproval(PolicyFile.Outcome o, String where) {
        forbid(where, "require_approval", "reason", o.reason());
        if (o.approvals() == null || o.approvals().isEmpty()) {
            throw new PolicyException(where + ": require_approval needs 'approvals'");
        }
        List<ApprovalRequirement> reqs = new ArrayList<>();
        for (PolicyFile.Approval a : o.approvals()) reqs.add(requirement(a, where));
        return new RequireApproval(
                List.copyOf(reqs),
                ttl(where, "pending_ttl", o.pendingTtl(), DEFAULT_PENDING_TTL, MAX_PENDING_TTL),
                ttl(where, "grant_ttl", o.grantTtl(), DEFAULT_GRANT_TTL, MAX_GRANT_TTL),
                Boolean.TRUE.equals(o.reasonRequired()),
                channels(o.channels(), where));
    }

    /** Channel names: a letter, then letters, digits, {@code -} or {@code _}, optionally {@code :target}. */
    private static List<String> channels(List<String> names, String where) {
        if (names == null) return List.of();
        for (String n : names) {
            if (n == null || !n.matches("[a-z][a-z0-9_-]*(:[^\\s]{1,200})?")) {
                throw new PolicyException(
                        where + ": notify: '" + n + "' is not a channel name (slack, slack:C0123, teams, email)");
            }
        }
        return List.copyOf(new java.util.LinkedHashSet<>(names));
    }

    private static ApprovalRequirement requirement(PolicyFile.Approval a, String where) {
        Set<String> groups = new HashSet<>();
        Set<String> users = new HashSet<>();
        if (a.group() != null) groups.add(a.group());
        if (a.groups() != null) groups.addAll(a.groups());
        if (a.user() != null) users.add(a.user());
        if (a.users() != null) users.addAll(a.users());
        try {
            return new ApprovalRequirement(groups, users, a.count() == null ? 1 : a.count());
        } catch (IllegalArgumentException e) {
            throw new PolicyException(where + ": approvals: " + e.getMessage());
        }
    }

    private static Duration ttl(String where, String key, String text, Duration fallback, Duration max) {
        if (text == null) return fallback;
        Duration d;
        try {
            d = Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new PolicyException(where + ": " + key + ": " + e.getMessage());
        }
        if (d.compareTo(Duration.ofSeconds(1)) < 0 || d.compareTo(max) > 0) {
            throw new PolicyException(
                    where + ": " + key + " must be between 1s and " + Durations.format(max) + "; got " + text);
        }
        return d;
    }

    private static void forbid(String where, String decision, String key, Object value) {
        if (value != null) {
            throw new PolicyException(where + ": '" + key + "' does not go with decision " + decision);
        }
    }
}
