package io.countersign.core;

/**
 * The life of a request as one function: {@link #apply(Lifecycle, Event)} returns the next
 * lifecycle or a refusal with its reason.
 *
 * <p>Invariants. States are closed ({@link RequestState}); terminal states accept no event. The
 * only ways into {@code APPROVED} are a {@link Event.Decided} carrying {@link Decision.Allow} or a
 * {@link Event.QuorumMet} while {@code PENDING}; {@code EXECUTED} and {@code FAILED} are reachable
 * only from {@code APPROVED} after {@link Event.Redeemed}, so no sequence of events executes an
 * action without a decision that allowed it (see RequestStateMachinePropertiesTest). The machine
 * holds no state and does no I/O; the caller persists the result and its ledger event in one
 * transaction.
 */
public final class RequestStateMachine {
    private RequestStateMachine() {}

    /**
     * A request's position: its state, and once approved, whether its grant was used.
     *
     * @param state the state, or null before policy has decided
     * @param grantRedeemed whether the grant has been redeemed
     */
    public record Lifecycle(RequestState state, boolean grantRedeemed) {
        /** Submitted, not yet decided. */
        public static final Lifecycle UNDECIDED = new Lifecycle(null, false);
    }

    /** What can happen to a request. */
    public sealed interface Event {
        /** Policy decided. */
        record Decided(Decision decision) implements Event {}
        /** The approval just recorded completed every requirement. */
        record QuorumMet() implements Event {}
        /** An eligible reviewer denied. */
        record DenyReviewed() implements Event {}
        /** The requester withdrew it. */
        record Cancelled() implements Event {}
        /** An eligible approver revoked the unused grant. */
        record Revoked() implements Event {}
        /** Its pending_ttl or grant_ttl passed. */
        record TimedOut() implements Event {}
        /** The grant was redeemed. */
        record Redeemed() implements Event {}
        /** The executor reported success. */
        record Executed() implements Event {}
        /** The executor reported failure. */
        record Failed() implements Event {}
    }

    /** The result of applying an event. */
    public sealed interface Transition {
        /** The event applies; the request moves to {@code to}. */
        record Moved(Lifecycle to) implements Transition {}
        /** The event does not apply here. */
        record Refused(Refusal refusal, String reason) implements Transition {}
    }

    /** The next lifecycle after {@code event}, or why the event does not apply. */
    public static Transition apply(Lifecycle from, Event event) {
        if (from.state() == null) return fromUndecided(event);
        return switch (from.state()) {
            case PENDING -> fromPending(event);
            case APPROVED -> from.grantRedeemed() ? fromRedeemed(event) : fromApproved(event);
            case DENIED, EXPIRED, CANCELLED, REVOKED, EXECUTED, FAILED -> fromTerminal(from.state(), event);
        };
    }

    private static Transition fromUndecided(Event event) {
        if (!(event instanceof Event.Decided d)) {
            return refused(Refusal.NOT_PENDING, "the request has no decision yet");
        }
        return switch (d.decision()) {
            case Decision.Allow a -> moved(RequestState.APPROVED, false);
            case Decision.Deny x -> moved(RequestState.DENIED, false);
            case Decision.RequireApproval r -> moved(RequestState.PENDING, false);
        };
    }

    private static Transition fromPending(Event event) {
        return switch (event) {
            case Event.QuorumMet q -> moved(RequestState.APPROVED, false);
            case Event.DenyReviewed d -> moved(RequestState.DENIED, false);
            case Event.Cancelled c -> moved(RequestState.CANCELLED, false);
            case Event.TimedOut t -> moved(RequestState.EXPIRED, false);
            case Event.Decided d -> refused(Refusal.NOT_PENDING, "the request was decided already");
            case Event.Revoked r -> refused(Refusal.NOT_APPROVED, "a pending request has no grant to revoke");
            case Event.Redeemed r -> refused(Refusal.NOT_APPROVED, "the request is still pending approval");
            case Event.Executed e -> refused(Refusal.NOT_REDEEMED, "the request is still pending approval");
            case Event.Failed f -> refused(Refusal.NOT_REDEEMED, "the request is still pending approval");
        };
    }

    private static Transition fromApproved(Event event) {
        return switch (event) {
            case Event.Redeemed r -> moved(RequestState.APPROVED, true);
            case Event.Revoked r -> moved(RequestState.REVOKED, false);
            case Event.Cancelled c -> moved(RequestState.CANCELLED, false);
            case Event.TimedOut t -> moved(RequestState.EXPIRED, false);
            case Event.Executed e -> refused(Refusal.NOT_REDEEMED, "redeem the grant before reporting an outcome");
            case Event.Failed f -> refused(Refusal.NOT_REDEEMED, "redeem the grant before reporting an outcome");
            case Event.Decided d -> refused(Refusal.NOT_PENDING, "the request was decided already");
            case Event.QuorumMet q -> refused(Refusal.NOT_PENDING, "the request is approved already");
            case Event.DenyReviewed d -> refused(Refusal.NOT_PENDING, "the request is approved already");
        };
    }

    private static Transition fromRedeemed(Event event) {
        return switch (event) {
            case Event.Executed e -> moved(RequestState.EXECUTED, true);
            case Event.Failed f -> moved(RequestState.FAILED, true);
            case Event.Redeemed r -> refused(Refusal.ALREADY_REDEEMED, "the grant was redeemed already");
            case Event.Revoked r -> refused(Refusal.ALREADY_REDEEMED, "the grant was used; nothing to revoke");
            case Event.Cancelled c -> refused(Refusal.ALREADY_REDEEMED, "the grant was used; too late to cancel");
            case Event.TimedOut t -> refused(Refusal.ALREADY_REDEEMED, "the grant was used before it expired");
            case Event.Decided d -> refused(Refusal.NOT_PENDING, "the request was decided already");
            case Event.QuorumMet q -> refused(Refusal.NOT_PENDING, "the request is approved already");
            case Event.DenyReviewed d -> refused(Refusal.NOT_PENDING, "the request is approved already");
        };
    }

    private static Transition fromTerminal(RequestState state, Event event) {
        String why = "the request is " + state.wire();
        return switch (event) {
            case Event.Redeemed r when state == RequestState.EXPIRED -> refused(Refusal.EXPIRED, "the grant expired");
            case Event.Redeemed r -> refused(Refusal.NOT_APPROVED, why);
            case Event.Revoked r -> refused(Refusal.NOT_APPROVED, why);
            case Event.Executed e -> refused(Refusal.NOT_REDEEMED, why);
            case Event.Failed f -> refused(Refusal.NOT_REDEEMED, why);
            default -> refused(Refusal.NOT_PENDING, why);
        };
    }

    private static Transition moved(RequestState state, boolean redeemed) {
        return new Transition.Moved(new Lifecycle(state, redeemed));
    }

    private static Transition refused(Refusal refusal, String reason) {
        return new Transition.Refused(refusal, reason);
    }
}
