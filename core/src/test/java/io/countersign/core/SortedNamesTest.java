package io.countersign.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.core.json.Json;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Groups and users read the same in every response, document and event, however the set was made. */
class SortedNamesTest {
    private static final List<String> UNSORTED = List.of("security", "data-owners", "sre", "analysts");
    private static final List<String> SORTED = List.of("analysts", "data-owners", "security", "sre");

    @Test
    void aReviewsGroupsAreSortedAndStaySoThroughJson() throws Exception {
        Review r = new Review(
                "carol", Verdict.APPROVE, "ok", "api", Instant.EPOCH, new java.util.LinkedHashSet<>(UNSORTED));
        assertThat(r.groups()).containsExactlyElementsOf(SORTED);
        Review back = Json.mapper().readValue(Json.mapper().writeValueAsString(r), Review.class);
        assertThat(back.groups()).containsExactlyElementsOf(SORTED);
        assertThat(Json.mapper().writeValueAsString(back))
                .isEqualTo(Json.mapper().writeValueAsString(r));
    }

    @Test
    void aPrincipalsGroupsAndARequirementsGroupsAndUsersAreSorted() {
        assertThat(Principal.human("carol", Set.copyOf(UNSORTED)).groups()).containsExactlyElementsOf(SORTED);
        ApprovalRequirement req = new ApprovalRequirement(Set.copyOf(UNSORTED), Set.of("erin", "bob", "dave"), 2);
        assertThat(req.groups()).containsExactlyElementsOf(SORTED);
        assertThat(req.users()).containsExactly("bob", "dave", "erin");
        assertThat(new ApprovalRequirement(null, Set.of("bob"), 1).groups()).isEmpty();
    }
}
