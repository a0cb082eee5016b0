package io.countersign.core;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Set;

/**
 * A quorum: {@code count} distinct eligible humans drawn from the named groups or users.
 *
 * @param groups members of any of these groups may fill a slot
 * @param users these principals may fill a slot
 * @param count how many distinct humans must approve
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record ApprovalRequirement(Set<String> groups, Set<String> users, int count) {
    public ApprovalRequirement {
        groups = Sorted.of(groups);
        users = Sorted.of(users);
        if (groups.isEmpty() && users.isEmpty()) {
            throw new IllegalArgumentException("an approval requirement names at least one group or user");
        }
        if (count < 1 || count > 100) {
            throw new IllegalArgumentException("approval count must be 1-100; got " + count);
        }
    }

    /** Whether {@code p} may fill a slot of this requirement (membership only; not separation of duties). */
    public boolean admits(Principal p) {
        return users.contains(p.id()) || p.groups().stream().anyMatch(groups::contains);
    }

    /** Same approver pool, ignoring the count. */
    boolean samePool(ApprovalRequirement other) {
        return groups.equals(other.groups) && users.equals(other.users);
    }
}
