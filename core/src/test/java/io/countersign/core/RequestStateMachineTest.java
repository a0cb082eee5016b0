package io.countersign.core;

import static io.countersign.core.RequestState.APPROVED;
import static io.countersign.core.RequestState.CANCELLED;
import static io.countersign.core.RequestState.DENIED;
import static io.countersign.core.RequestState.EXECUTED;
import static io.countersign.core.RequestState.EXPIRED;
import static io.countersign.core.RequestState.FAILED;
import static io.countersign.core.RequestState.PENDING;
import static io.countersign.core.RequestState.REVOKED;
import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.core.RequestStateMachine.Event;
import io.countersign.core.RequestStateMachine.Lifecycle;
import io.countersign.core.RequestStateMachine.Transition;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class RequestStateMachineTest {
    static final Decision ALLOW = new Decision.Allow(List.of("r"), "sha256:v", Duration.ofMinutes(5));
    static final Decision DENY = new Decision.Deny("no", List.of("r"), "sha256:v");
    static final Decision ASK = new Decision.RequireApproval(
            List.of(new ApprovalRequirement(Set.of("sec"), Set.of(), 1)),
            Duration.ofHours(1),
            Duration.ofMinutes(5),
            false,
            List.of("r"),
            "sha256:v",
            List.of());

    static final Lifecycle PENDING_ = new Lifecycle(PENDING, false);
    static final Lifecycle APPROVED_ = new Lifecycle(APPROVED, false);
    static final Lifecycle REDEEMED = new Lifecycle(APPROVED, true);

    static List<Event> allEvents() {
        return List.of(
                new Event.Decided(ALLOW),
                new Event.Decided(DENY),
                new Event.Decided(ASK),
                new Event.QuorumMet(),
                new Event.DenyReviewed(),
                new Event.Cancelled(),
                new Event.Revoked(),
                new Event.TimedOut(),
                new Event.Redeemed(),
                new Event.Executed(),
                new Event.Failed());
    }

    static Transition apply(Lifecycle from, Event event) {
        return RequestStateMachine.apply(from, event);
    }

    static Stream<Arguments> moves() {
        return Stream.of(
                Arguments.of(Lifecycle.UNDECIDED, new Event.Decided(ALLOW), APPROVED_),
                Arguments.of(Lifecycle.UNDECIDED, new Event.Decided(DENY), new Lifecycle(DENIED, false)),
                Arguments.of(Lifecycle.UNDECIDED, new Event.Decided(ASK), PENDING_),
                Arguments.of(PENDING_, new Event.QuorumMet(), APPROVED_),
                Arguments.of(PENDING_, new Event.DenyReviewed(), new Lifecycle(DENIED, false)),
                Arguments.of(PENDING_, new Event.Cancelled(), new Lifecycle(CANCELLED, false)),
                Arguments.of(PENDING_, new Event.TimedOut(), new Lifecycle(EXPIRED, false)),
                Arguments.of(APPROVED_, new Event.Redeemed(), REDEEMED),
                Arguments.of(APPROVED_, new Event.Revoked(), new Lifecycle(REVOKED, false)),
                Arguments.of(APPROVED_, new Event.Cancelled(), new Lifecycle(CANCELLED, false)),
                Arguments.of(APPROVED_, new Event.TimedOut(), new Lifecycle(EXPIRED, false)),
                Arguments.of(REDEEMED, new Event.Executed(), new Lifecycle(EXECUTED, true)),
                Arguments.of(REDEEMED, new Event.Failed(), new Lifecycle(FAILED, true)));
    }

    @ParameterizedTest(name = "{0} + {1} -> {2}")
    @MethodSource("moves")
    void movesOnEachAllowedEvent(Lifecycle from, Event event, Lifecycle to) {
        assertThat(apply(from, event)).isEqualTo(new Transition.Moved(to));
    }

    static Stream<Arguments> refusals() {
        return Stream.of(
                Arguments.of(Lifecycle.UNDECIDED, new Event.QuorumMet(), Refusal.NOT_PENDING),
                Arguments.of(Lifecycle.UNDECIDED, new Event.Redeemed(), Refusal.NOT_PENDING),
                Arguments.of(Lifecycle.UNDECIDED, new Event.Executed(), Refusal.NOT_PENDING),
                Arguments.of(PENDING_, new Event.Decided(ALLOW), Refusal.NOT_PENDING),
                Arguments.of(PENDING_, new Event.Revoked(), Refusal.NOT_APPROVED),
                Arguments.of(PENDING_, new Event.Redeemed(), Refusal.NOT_APPROVED),
                Arguments.of(PENDING_, new Event.Executed(), Refusal.NOT_REDEEMED),
                Arguments.of(PENDING_, new Event.Failed(), Refusal.NOT_REDEEMED),
                Arguments.of(APPROVED_, new Event.Executed(), Refusal.NOT_REDEEMED),
                Arguments.of(APPROVED_, new Event.Failed(), Refusal.NOT_REDEEMED),
                Arguments.of(APPROVED_, new Event.Decided(DENY), Refusal.NOT_PENDING),
                Arguments.of(APPROVED_, new Event.QuorumMet(), Refusal.NOT_PENDING),
                Arguments.of(APPROVED_, new Event.DenyReviewed(), Refusal.NOT_PENDING),
                Arguments.of(REDEEMED, new Event.Redeemed(), Refusal.ALREADY_REDEEMED),
                Arguments.of(REDEEMED, new Event.Revoked(), Refusal.ALREADY_REDEEMED),
                Arguments.of(REDEEMED, new Event.Cancelled(), Refusal.ALREADY_REDEEMED),
                Arguments.of(REDEEMED, new Event.TimedOut(), Refusal.ALREADY_REDEEMED),
                Arguments.of(REDEEMED, new Event.Decided(ALLOW), Refusal.NOT_PENDING),
                Arguments.of(REDEEMED, new Event.QuorumMet(), Refusal.NOT_PENDING),
                Arguments.of(REDEEMED, new Event.DenyReviewed(), Refusal.NOT_PENDING),
                Arguments.of(new Lifecycle(EXPIRED, false), new Event.Redeemed(), Refusal.EXPIRED),
                Arguments.of(new Lifecycle(DENIED, false), new Event.Redeemed(), Refusal.NOT_APPROVED),
                Arguments.of(new Lifecycle(REVOKED, false), new Event.Redeemed(), Refusal.NOT_APPROVED),
                Arguments.of(new Lifecycle(CANCELLED, false), new Event.Revoked(), Refusal.NOT_APPROVED),
                Arguments.of(new Lifecycle(DENIED, false), new Event.Executed(), Refusal.NOT_REDEEMED),
                Arguments.of(new Lifecycle(EXECUTED, true), new Event.Failed(), Refusal.NOT_REDEEMED),
                Arguments.of(new Lifecycle(EXPIRED, false), new Event.QuorumMet(), Refusal.NOT_PENDING),
                Arguments.of(new Lifecycle(CANCELLED, false), new Event.Cancelled(), Refusal.NOT_PENDING));
    }

    @ParameterizedTest(name = "{0} + {1} refused: {2}")
    @MethodSource("refusals")
    void refusesEventsThatDoNotApply(Lifecycle from, Event event, Refusal refusal) {
        assertThat(apply(from, event)).isInstanceOfSatisfying(Transition.Refused.class, r -> {
            assertThat(r.refusal()).isEqualTo(refusal);
            assertThat(r.reason()).isNotBlank();
        });
    }

    @ParameterizedTest
    @EnumSource(
            value = RequestState.class,
            names = {"PENDING", "APPROVED"},
            mode = EnumSource.Mode.EXCLUDE)
    void terminalStatesAcceptNoEvent(RequestState terminal) {
        for (boolean redeemed : new boolean[] {false, true}) {
            Lifecycle from = new Lifecycle(terminal, redeemed);
            assertThat(allEvents()).allSatisfy(e -> assertThat(apply(from, e)).isInstanceOf(Transition.Refused.class));
        }
    }

    @ParameterizedTest
    @EnumSource(RequestState.class)
    void terminalStatesAreExactlyTheSixEndStates(RequestState state) {
        Set<RequestState> ends = EnumSet.of(DENIED, EXPIRED, CANCELLED, REVOKED, EXECUTED, FAILED);
        assertThat(state.isTerminal()).isEqualTo(ends.contains(state));
    }

    @Test
    void anUndecidedRequestAcceptsOnlyADecision() {
        assertThat(allEvents())
                .filteredOn(e -> apply(Lifecycle.UNDECIDED, e) instanceof Transition.Moved)
                .allMatch(e -> e instanceof Event.Decided)
                .hasSize(3);
    }

    @Test
    void noEventLeadsFromPendingStraightToExecution() {
        assertThat(allEvents())
                .map(e -> apply(PENDING_, e))
                .noneMatch(t -> t instanceof Transition.Moved m
                        && (m.to().state() == EXECUTED || m.to().state() == FAILED || m.to().grantRedeemed()));
    }
}
