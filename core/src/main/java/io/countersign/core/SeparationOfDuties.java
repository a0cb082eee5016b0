package io.countersign.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Who may review a request, and when its approvals are enough. Not configurable: no setting turns
 * any of this off.
 *
 * <p>A reviewer must be a human, must not be the requester, the requesting agent's owner or the
 * human it acts on behalf of, and must be admitted by at least one of the request's approval
 * requirements. A quorum counts distinct humans and each human fills at most one slot, even when
 * they belong to several approver groups: the requirements are met exactly when a matching
 * assigns every slot its own approver (Kuhn's augmenting paths; requests have a handful of slots).
 */
public final class SeparationOfDuties {
    private SeparationOfDuties() {}

    /** Why {@code reviewer} may not review {@code request}, or empty when they may. */
    public static Optional<RefusedException> refuseReviewer(Request request, Principal reviewer) {
        String who = reviewer.id();
        if (!reviewer.isHuman()) {
            return refuse(
                    Refusal.NON_HUMAN_REVIEWER,
                    who + " is " + (reviewer.kind().wire().startsWith("a") ? "an " : "a ")
                            + reviewer.kind().wire() + "; only humans review");
        }
        if (who.equals(request.requester().id())) {
            return refuse(Refusal.SELF_REVIEW, who + " submitted this request and cannot review it");
        }
        if (who.equals(request.requester().owner())) {
            return refuse(
                    Refusal.OWNER_REVIEW,
                    who + " owns the requesting agent " + request.requester().id() + " and cannot review its requests");
        }
        if (who.equals(request.action().onBehalfOf())) {
            return refuse(
                    Refusal.ON_BEHALF_OF_REVIEW,
                    "the agent acts on behalf of " + who + ", who therefore cannot review this request");
        }
        if (!(request.decision() instanceof Decision.RequireApproval r)
                || r.approvals().stream().noneMatch(a -> a.admits(reviewer))) {
            return refuse(Refusal.INELIGIBLE_REVIEWER, who + " is in none of the groups or users this request needs");
        }
        return Optional.empty();
    }

    /** Whether the distinct {@code approvers} fill every slot of {@code requirements}. */
    public static boolean quorumMet(List<ApprovalRequirement> requirements, List<Principal> approvers) {
        approvers = distinctHumans(approvers);
        List<ApprovalRequirement> slots = new ArrayList<>();
        for (ApprovalRequirement r : requirements) {
            for (int i = 0; i < r.count(); i++) slots.add(r);
        }
        if (approvers.size() < slots.size()) return false;
        int[] slotOwner = new int[slots.size()];
        Arrays.fill(slotOwner, -1);
        int filled = 0;
        for (int a = 0; a < approvers.size(); a++) {
            if (augment(a, slots, approvers, slotOwner, new boolean[slots.size()])) filled++;
        }
        return filled == slots.size();
    }

    /** The same person listed twice fills one slot; an agent or service fills none. */
    private static List<Principal> distinctHumans(List<Principal> approvers) {
        Map<String, Principal> byId = new LinkedHashMap<>();
        approvers.stream().filter(Principal::isHuman).forEach(p -> byId.putIfAbsent(p.id(), p));
        return List.copyOf(byId.values());
    }

    private static boolean augment(
            int approver, List<ApprovalRequirement> slots, List<Principal> approvers, int[] slotOwner, boolean[] seen) {
        for (int s = 0; s < slots.size(); s++) {
            if (seen[s] || !slots.get(s).admits(approvers.get(approver))) continue;
            seen[s] = true;
            if (slotOwner[s] < 0 || augment(slotOwner[s], slots, approvers, slotOwner, seen)) {
                slotOwner[s] = approver;
                return true;
            }
        }
        return false;
    }

    private static Optional<RefusedException> refuse(Refusal refusal, String message) {
        return Optional.of(new RefusedException(refusal, message));
    }
}
