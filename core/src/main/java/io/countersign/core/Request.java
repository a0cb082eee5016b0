package io.countersign.core;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A tracked request: who asked, exactly what, what policy decided, who reviewed, its grant and
 * outcome. Immutable; every change is a new value produced by {@link RequestService} through
 * {@link RequestStateMachine}.
 *
 * @param id the request's id
 * @param requester the agent or service that asked
 * @param action what it asked for
 * @param digest SHA-256 (hex) of the canonical requester, action and resource; approvals bind to it
 * @param decision what policy decided
 * @param state where it is now
 * @param reviews every review recorded, in order
 * @param grant the grant, once approved
 * @param outcome what came of it, once reported
 * @param createdAt when it was submitted
 * @param expiresAt when a pending request expires (null unless policy required approval)
 * @param updatedAt when it last changed
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Request(
        RequestId id,
        Principal requester,
        ActionRequest action,
        String digest,
        Decision decision,
        RequestState state,
        List<Review> reviews,
        Grant grant,
        Outcome outcome,
        Instant createdAt,
        Instant expiresAt,
        Instant updatedAt) {
    public Request {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(requester, "requester");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(digest, "digest");
        Objects.requireNonNull(decision, "decision");
        Objects.requireNonNull(state, "state");
        reviews = reviews == null ? List.of() : List.copyOf(reviews);
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(updatedAt, "updatedAt");
    }

    /** The lifecycle the state machine works on. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public RequestStateMachine.Lifecycle lifecycle() {
        return new RequestStateMachine.Lifecycle(state, grant != null && grant.isRedeemed());
    }

    Request withState(RequestState next, Instant at) {
        return new Request(
                id, requester, action, digest, decision, next, reviews, grant, outcome, createdAt, expiresAt, at);
    }

    Request withReview(Review review) {
        List<Review> all = new java.util.ArrayList<>(reviews);
        all.add(review);
        return new Request(
                id, requester, action, digest, decision, state, all, grant, outcome, createdAt, expiresAt, review.at());
    }

    Request withGrant(Grant g, Instant at) {
        return new Request(
                id, requester, action, digest, decision, state, reviews, g, outcome, createdAt, expiresAt, at);
    }

    Request withOutcome(Outcome o) {
        return new Request(
                id, requester, action, digest, decision, state, reviews, grant, o, createdAt, expiresAt, o.at());
    }
}
