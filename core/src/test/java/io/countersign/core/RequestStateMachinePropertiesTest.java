package io.countersign.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.core.RequestStateMachine.Event;
import io.countersign.core.RequestStateMachine.Lifecycle;
import io.countersign.core.RequestStateMachine.Transition;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/** No sequence of events executes an action without an allowing decision and a redeemed grant. */
class RequestStateMachinePropertiesTest {

    /** Applies the events in order, skipping refused ones; returns the accepted events. */
    static List<Event> accepted(List<Event> events, Lifecycle[] end) {
        Lifecycle at = Lifecycle.UNDECIDED;
        List<Event> accepted = new ArrayList<>();
        for (Event e : events) {
            if (RequestStateMachine.apply(at, e) instanceof Transition.Moved m) {
                accepted.add(e);
                at = m.to();
            }
        }
        end[0] = at;
        return accepted;
    }

    @Property
    void executionNeedsAnApprovalAndARedeemFirst(@ForAll("events") List<Event> events) {
        Lifecycle[] end = new Lifecycle[1];
        List<Event> accepted = accepted(events, end);
        RequestState state = end[0].state();
        Statistics.collect(state == RequestState.EXECUTED || state == RequestState.FAILED);
        Statistics.coverage(c -> c.check(true).count(n -> n > 0));
        if (state != RequestState.EXECUTED && state != RequestState.FAILED) return;

        int outcome = accepted.size() - 1;
        int redeemed = lastIndexOf(accepted, Event.Redeemed.class, outcome);
        int approved = firstApproval(accepted);
        assertThat(approved).isGreaterThanOrEqualTo(0);
        assertThat(redeemed).isGreaterThan(approved).isLessThan(outcome);
    }

    @Property
    void theOnlyWayIntoApprovedIsAnAllowOrAQuorum(@ForAll("events") List<Event> events) {
        Lifecycle at = Lifecycle.UNDECIDED;
        for (Event e : events) {
            Transition t = RequestStateMachine.apply(at, e);
            if (t instanceof Transition.Moved m) {
                if (m.to().state() == RequestState.APPROVED && at.state() != RequestState.APPROVED) {
                    assertThat(isApproval(e)).as("entered APPROVED on %s", e).isTrue();
                }
                at = m.to();
            }
        }
    }

    @Property
    void terminalStatesAcceptNoEvent(@ForAll("events") List<Event> events, @ForAll("event") Event next) {
        Lifecycle[] end = new Lifecycle[1];
        accepted(events, end);
        if (end[0].state() == null || !end[0].state().isTerminal()) return;

        assertThat(RequestStateMachine.apply(end[0], next)).isInstanceOf(Transition.Refused.class);
    }

    @Property
    void everyEventIsAcceptedOrRefusedWithAReason(@ForAll("events") List<Event> events) {
        Lifecycle at = Lifecycle.UNDECIDED;
        for (Event e : events) {
            Transition t = RequestStateMachine.apply(at, e);
            if (t instanceof Transition.Refused r) assertThat(r.refusal()).isNotNull();
            if (t instanceof Transition.Moved m) at = m.to();
        }
    }

    static boolean isApproval(Event e) {
        return e instanceof Event.QuorumMet || e instanceof Event.Decided d && d.decision() instanceof Decision.Allow;
    }

    static int firstApproval(List<Event> accepted) {
        for (int i = 0; i < accepted.size(); i++) {
            if (isApproval(accepted.get(i))) return i;
        }
        return -1;
    }

    static int lastIndexOf(List<Event> accepted, Class<?> kind, int before) {
        for (int i = before - 1; i >= 0; i--) {
            if (kind.isInstance(accepted.get(i))) return i;
        }
        return -1;
    }

    @Provide
    Arbitrary<List<Event>> events() {
        return event().list().ofMaxSize(12);
    }

    @Provide
    Arbitrary<Event> event() {
        return Arbitraries.of(RequestStateMachineTest.allEvents());
    }
}
