package io.countersign.server.channels;

import io.countersign.core.ApprovalRequirement;
import io.countersign.core.Decision;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.core.Request;
import io.countersign.core.SeparationOfDuties;
import io.countersign.server.identity.Identities;
import java.util.List;
import java.util.Optional;

/** Who a pending request is for, and where policy asks for it to be sent. */
public final class Approvals {
    private Approvals() {}

    /**
     * Where {@code channel} should ask for approval of {@code r}: {@code defaultTarget} when the rule
     * names no channels or names {@code channel} bare, the target of {@code channel:target}, or empty
     * when the request needs no approval or the rule routes it elsewhere.
     */
    public static Optional<String> target(Request r, String channel, String defaultTarget) {
        if (!(r.decision() instanceof Decision.RequireApproval ask)) return Optional.empty();
        if (ask.channels().isEmpty()) return Optional.ofNullable(defaultTarget);
        for (String name : ask.channels()) {
            if (name.equals(channel)) return Optional.ofNullable(defaultTarget);
            if (name.startsWith(channel + ":")) return Optional.of(name.substring(channel.length() + 1));
        }
        return Optional.empty();
    }

    /**
     * The known humans who may approve {@code r} now: admitted by one of its requirements, not kept
     * out by separation of duties, and not yet reviewers of it.
     */
    public static List<Principal> eligible(Request r, Identities identities) {
        if (!(r.decision() instanceof Decision.RequireApproval ask)) return List.of();
        return identities.all().stream()
                .filter(p -> p.kind() == PrincipalKind.HUMAN)
                .filter(p -> ask.approvals().stream().anyMatch(req -> req.admits(p)))
                .filter(p -> SeparationOfDuties.refuseReviewer(r, p).isEmpty())
                .filter(p -> r.reviews().stream().noneMatch(v -> v.reviewer().equals(p.id())))
                .toList();
    }

    /** The requirements of {@code r} as one line: "2 of data-owners; 1 of security". */
    public static String requirement(Request r) {
        if (!(r.decision() instanceof Decision.RequireApproval ask)) return "";
        StringBuilder sb = new StringBuilder();
        for (ApprovalRequirement req : ask.approvals()) {
            if (!sb.isEmpty()) sb.append("; ");
            sb.append(req.count()).append(" of ");
            List<String> pool = new java.util.ArrayList<>(req.groups());
            req.users().forEach(u -> pool.add("user " + u));
            sb.append(String.join(", ", pool.stream().sorted().toList()));
        }
        return sb.toString();
    }
}
