package io.countersign.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SeparationOfDutiesTest {
    static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");
    static final Principal AGENT = Principal.agent("agent-7", "olivia");
    static final ApprovalRequirement SECURITY = new ApprovalRequirement(Set.of("security"), Set.of(), 1);
    static final ApprovalRequirement DATA_OWNERS = new ApprovalRequirement(Set.of("data-owners"), Set.of(), 1);

    static Request request(Principal requester, String onBehalfOf, ApprovalRequirement... approvals) {
        ActionRequest action = new ActionRequest(
                new Action("db.export", null),
                new Resource("table", "orders", "prod", null, null),
                "",
                onBehalfOf,
                null);
        Decision decision = new Decision.RequireApproval(
                List.of(approvals),
                Duration.ofHours(1),
                Duration.ofMinutes(5),
                false,
                List.of("r"),
                "sha256:v",
                List.of());
        return new Request(
                RequestId.generate(NOW, new java.util.Random(1)),
                requester,
                action,
                RequestDigest.of(requester, action),
                decision,
                RequestState.PENDING,
                List.of(),
                null,
                null,
                NOW,
                NOW.plusSeconds(3600),
                NOW);
    }

    static Request pending() {
        return request(AGENT, "hugo", SECURITY);
    }

    static Optional<Refusal> refusal(Request request, Principal reviewer) {
        return SeparationOfDuties.refuseReviewer(request, reviewer).map(RefusedException::refusal);
    }

    static Principal human(String id, String... groups) {
        return Principal.human(id, Set.of(groups));
    }

    @Test
    void refusesAnAgentWhateverItsGroups() {
        Principal agent =
                new Principal("agent-9", PrincipalKind.AGENT, Set.of("security"), "sam", null, null, Map.of());

        assertThat(refusal(pending(), agent)).contains(Refusal.NON_HUMAN_REVIEWER);
    }

    @Test
    void refusesAServiceWhateverItsGroups() {
        Principal service = new Principal("svc", PrincipalKind.SERVICE, Set.of("security"), null, null, null, Map.of());

        assertThat(refusal(pending(), service)).contains(Refusal.NON_HUMAN_REVIEWER);
    }

    @Test
    void refusesTheRequester() {
        Principal service = new Principal("svc", PrincipalKind.SERVICE, Set.of(), null, null, null, Map.of());
        Request bySomeoneNamedLikeAHuman = request(service, null, SECURITY);

        assertThat(refusal(bySomeoneNamedLikeAHuman, human("svc", "security"))).contains(Refusal.SELF_REVIEW);
    }

    @Test
    void refusesApprovalByTheRequestersOwner() {
        assertThat(refusal(pending(), human("olivia", "security"))).contains(Refusal.OWNER_REVIEW);
    }

    @Test
    void refusesTheHumanTheAgentActsOnBehalfOf() {
        assertThat(refusal(pending(), human("hugo", "security"))).contains(Refusal.ON_BEHALF_OF_REVIEW);
    }

    @Test
    void refusesAHumanInNoRequiredGroupOrUser() {
        assertThat(refusal(pending(), human("eve", "engineering"))).contains(Refusal.INELIGIBLE_REVIEWER);
    }

    @Test
    void refusesEveryoneWhenPolicyRequiredNoApproval() {
        Request allowed = new Request(
                pending().id(),
                AGENT,
                pending().action(),
                pending().digest(),
                new Decision.Allow(List.of("r"), "sha256:v", Duration.ofMinutes(5)),
                RequestState.APPROVED,
                List.of(),
                null,
                null,
                NOW,
                null,
                NOW);

        assertThat(refusal(allowed, human("sara", "security"))).contains(Refusal.INELIGIBLE_REVIEWER);
    }

    @Test
    void admitsAnEligibleHuman() {
        assertThat(refusal(pending(), human("sara", "security"))).isEmpty();
    }

    @Test
    void admitsAHumanNamedAsAUser() {
        Request request = request(AGENT, null, new ApprovalRequirement(Set.of(), Set.of("uma"), 1));

        assertThat(refusal(request, human("uma"))).isEmpty();
        assertThat(refusal(request, human("sara", "security"))).contains(Refusal.INELIGIBLE_REVIEWER);
    }

    @Test
    void onePersonInTwoGroupsFillsOneSlot() {
        Principal both = human("sara", "security", "data-owners");

        assertThat(SeparationOfDuties.quorumMet(List.of(SECURITY, DATA_OWNERS), List.of(both)))
                .isFalse();
    }

    @Test
    void aSecondPersonCompletesTheQuorum() {
        Principal both = human("sara", "security", "data-owners");
        Principal owner = human("dave", "data-owners");

        assertThat(SeparationOfDuties.quorumMet(List.of(SECURITY, DATA_OWNERS), List.of(both, owner)))
                .isTrue();
        assertThat(SeparationOfDuties.quorumMet(List.of(SECURITY, DATA_OWNERS), List.of(owner, both)))
                .isTrue();
    }

    @Test
    void assignsSlotsSoThatEveryRequirementIsFilled() {
        Principal both = human("sara", "security", "data-owners");
        Principal sec = human("sam", "security");

        // sara must take the data-owners slot for sam to fill security.
        assertThat(SeparationOfDuties.quorumMet(List.of(SECURITY, DATA_OWNERS), List.of(both, sec)))
                .isTrue();
    }

    @Test
    void countsDistinctHumans() {
        ApprovalRequirement twoFromSecurity = new ApprovalRequirement(Set.of("security"), Set.of(), 2);
        Principal sara = human("sara", "security");

        assertThat(SeparationOfDuties.quorumMet(List.of(twoFromSecurity), List.of(sara, sara)))
                .isFalse();
        assertThat(SeparationOfDuties.quorumMet(List.of(twoFromSecurity), List.of(sara, human("sam", "security"))))
                .isTrue();
    }

    @Test
    void countsOnlyHumansTowardsAQuorum() {
        Principal agent = new Principal("bot", PrincipalKind.AGENT, Set.of("security"), "sam", null, null, Map.of());

        assertThat(SeparationOfDuties.quorumMet(List.of(SECURITY), List.of(agent)))
                .isFalse();
    }

    @Test
    void ignoresApproversNoRequirementAdmits() {
        ApprovalRequirement two = new ApprovalRequirement(Set.of("security"), Set.of(), 2);

        assertThat(SeparationOfDuties.quorumMet(List.of(two), List.of(human("sara", "security"), human("eve", "hr"))))
                .isFalse();
    }

    @Test
    void meetsAUsersBasedRequirementOnlyWithThoseUsers() {
        ApprovalRequirement named = new ApprovalRequirement(Set.of(), Set.of("uma", "ulf"), 2);

        assertThat(SeparationOfDuties.quorumMet(List.of(named), List.of(human("uma"), human("sara", "security"))))
                .isFalse();
        assertThat(SeparationOfDuties.quorumMet(List.of(named), List.of(human("uma"), human("ulf"))))
                .isTrue();
    }

    @Test
    void isNotMetWithoutApprovers() {
        assertThat(SeparationOfDuties.quorumMet(List.of(SECURITY), List.of())).isFalse();
    }
}
