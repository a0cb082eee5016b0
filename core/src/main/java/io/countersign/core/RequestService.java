package io.countersign.core;

import io.countersign.core.RequestStateMachine.Event;
import io.countersign.core.RequestStateMachine.Transition;
import io.countersign.core.json.CanonicalJson;
import io.countersign.core.json.Json;
import io.countersign.core.policy.Policy;
import io.countersign.core.spi.Directory;
import io.countersign.core.spi.RequestStore;
import io.countersign.core.spi.RequestStore.IdempotentSubmission;
import io.countersign.core.spi.RequestStore.Tx;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.random.RandomGenerator;

/**
 * The use cases every entry point calls: submit, read, wait, review, cancel, revoke, redeem,
 * report an outcome, expire. Entry points add no rules of their own.
 *
 * <p>Each operation that changes a request is one {@link RequestStore#write}: it loads the
 * request, applies any expiry that is due (so expiry is exact whatever the sweeper's lag), applies
 * one {@link RequestStateMachine} event and appends the ledger events, all in one transaction. A
 * refusal that should be on record (a refused review, a redeem with the wrong digest) is appended
 * and committed, then thrown as {@link RefusedException} once the write returns. Policy is
 * evaluated before the write, on the caller's thread: the only I/O on the decision path is the one
 * transaction.
 */
public final class RequestService {
    /** The longest reason a review or revocation may give, as for a request's justification. */
    static final int MAX_REASON = 4000;

    private static final int LIST_SCAN = 2000;

    private final Policy policy;
    private final RequestStore store;
    private final Directory directory;
    private final Clock clock;
    private final RandomGenerator random;
    private final RequestListener listener;
    private final ChangeWaiters waiters = new ChangeWaiters();

    public RequestService(
            Policy policy,
            RequestStore store,
            Directory directory,
            Clock clock,
            RandomGenerator random,
            RequestListener listener) {
        this.policy = Objects.requireNonNull(policy);
        this.store = Objects.requireNonNull(store);
        this.directory = Objects.requireNonNull(directory);
        this.clock = Objects.requireNonNull(clock);
        this.random = Objects.requireNonNull(random);
        this.listener = Objects.requireNonNull(listener);
    }

    /**
     * The result of a submission.
     *
     * @param request the request, as stored
     * @param replayed true when an earlier submission with the same Idempotency-Key made it
     */
    public record Submitted(Request request, boolean replayed) {}

    /** Submits, decides and stores a request; with an idempotency key, a retry returns the first request. */
    public Submitted submit(Principal requester, ActionRequest action, String idempotencyKey) {
        return submit(requester, action, idempotencyKey, false, false);
    }

    /**
     * Submits a request, unless policy requires approval and the same requester already has an open
     * request for the same digest (pending, or approved with its grant unused): then that request is
     * returned ({@code replayed} true). The same call, retried while it waits or once approved, thus
     * resumes its request instead of asking again; an allowed call is always a new request.
     */
    public Submitted submitOrResume(Principal requester, ActionRequest action) {
        return submit(requester, action, null, true, false);
    }

    /**
     * {@link #submitOrResume}, for an action the caller runs at once if policy allows it (an MCP tool
     * call): an allowed request's grant is redeemed in the same transaction as the submission, so one
     * durable write precedes the action. The returned request is then approved with its grant used.
     */
    public Submitted submitToRunNow(Principal requester, ActionRequest action) {
        return submitToRunNow(requester, action, List.of());
    }

    /**
     * {@link #submitToRunNow(Principal, ActionRequest)}, recording in the same transaction the
     * outcomes of earlier actions that their caller held back ({@code earlier}), so that they cost no
     * write of their own. An outcome that is refused (its request is not the reporter's, or not
     * awaiting an outcome) is skipped and reported to the listener; the submission goes on. If this
     * throws, none of {@code earlier} was recorded unless the submission was.
     */
    public Submitted submitToRunNow(Principal requester, ActionRequest action, List<OutcomeReport> earlier) {
        return submit(requester, action, null, true, true, earlier);
    }

    private Submitted submit(
            Principal requester, ActionRequest action, String idempotencyKey, boolean resume, boolean redeemNow) {
        return submit(requester, action, idempotencyKey, resume, redeemNow, List.of());
    }

    private Submitted submit(
            Principal requester,
            ActionRequest action,
            String idempotencyKey,
            boolean resume,
            boolean redeemNow,
            List<OutcomeReport> outcomes) {
        if (requester.isHuman()) {
            throw refusal(new RefusedException(
                    Refusal.WRONG_PRINCIPAL_KIND, "requests are submitted by agents and services, not humans"));
        }
        action.requireServableDepth();
        requireKnownHuman(action.onBehalfOf());
        Instant now = clock.instant();
        long t0 = System.nanoTime();
        Decision decision = policy.decide(requester, action, now);
        long decisionNanos = System.nanoTime() - t0;
        Request request = decided(requester, action, decision, now);
        Insertion insertion = insertion(request, redeemNow, now);
        String fingerprint = idempotencyKey == null ? null : fingerprint(requester, action);
        List<Recorded> recorded = new ArrayList<>(outcomes.size());
        Step<Submitted> step = store.write(tx -> {
            recorded.addAll(record(tx, outcomes, now));
            if (idempotencyKey != null) {
                Optional<IdempotentSubmission> earlier = tx.idempotent(requester.id(), idempotencyKey);
                if (earlier.isPresent()) return replay(tx, earlier.get(), fingerprint);
                tx.rememberIdempotent(
                        requester.id(), idempotencyKey, new IdempotentSubmission(request.id(), fingerprint));
            }
            if (resume && request.decision() instanceof Decision.RequireApproval) {
                Optional<Request> open = tx.findOpen(requester.id(), request.digest());
                if (open.isPresent()) return new Step.Done<>(new Submitted(open.get(), true), null);
            }
            tx.insert(insertion.request(), insertion.json());
            insertion.events().forEach(tx::append);
            return new Step.Done<>(new Submitted(insertion.request(), false), null);
        });
        announce(recorded);
        Submitted result = unwrap(step);
        if (!result.replayed()) listener.submitted(result.request(), decisionNanos);
        return result;
    }

    /**
     * What a submission inserts: the request as stored, its JSON, and its events with their leaves
     * canonicalised but for the index. Made before the write, on the caller's thread, because every
     * write waits on the store's single writer, and none of this depends on the order of writes.
     */
    private record Insertion(Request request, String json, List<LedgerEvent.Prepared> events) {}

    private Insertion insertion(Request request, boolean redeemNow, Instant now) {
        Request stored = redeemNow && request.grant() != null
                ? move(request, new Event.Redeemed(), now)
                        .withGrant(request.grant().redeem(now), now)
                : request;
        List<LedgerEvent> events = new ArrayList<>(4);
        events.add(RequestEvents.submitted(
                request, policy.paramsInClear(request.action().action().type())));
        events.add(RequestEvents.decided(request));
        if (request.grant() != null) events.add(RequestEvents.grantIssued(request));
        if (stored != request) events.add(RequestEvents.redeemed(stored, now));
        return new Insertion(
                stored,
                Json.write(stored),
                events.stream().map(LedgerEvent::prepare).toList());
    }

    /** A request the viewer may see. */
    public Request get(RequestId id, Principal viewer) {
        Request r = store.find(id).filter(x -> canSee(viewer, x)).orElseThrow(() -> new RequestNotFoundException(id));
        return isDue(r, clock.instant()) ? expireNow(r) : r;
    }

    /**
     * The request once its state differs from its state now, or after {@code timeout}, whichever
     * comes first. Blocks the calling (virtual) thread; woken by the change, not by polling.
     */
    public Request await(RequestId id, Principal viewer, Duration timeout) throws InterruptedException {
        Request first = get(id, viewer);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!first.state().isTerminal()) {
            CompletableFuture<Void> change = waiters.register(id);
            try {
                Request now = get(id, viewer);
                long remaining = deadline - System.nanoTime();
                if (now.state() != first.state() || remaining <= 0) return now;
                change.get(remaining, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                return get(id, viewer);
            } catch (ExecutionException e) {
                throw new IllegalStateException("a change future never fails", e);
            } finally {
                waiters.unregister(id, change);
            }
        }
        return first;
    }

    /** How many callers are blocked in {@link #await} right now. */
    public int waiting() {
        return waiters.size();
    }

    /**
     * Requests the viewer may see, newest first. For a human asking for pending requests: those
     * they may review and have not reviewed yet. For an agent or service: its own requests.
     */
    public List<Request> list(Principal viewer, RequestState state, int limit) {
        if (!viewer.isHuman()) return store.list(new RequestStore.Query(viewer.id(), state, limit));
        List<Request> out = new ArrayList<>();
        for (Request r : store.list(new RequestStore.Query(null, state, LIST_SCAN))) {
            boolean wanted = state == RequestState.PENDING ? mayReview(viewer, r) : canSee(viewer, r);
            if (wanted) out.add(r);
            if (out.size() == limit) break;
        }
        return out;
    }

    /** Every event recorded for a request the viewer may see. */
    public List<LedgerEvent> events(RequestId id, Principal viewer) {
        get(id, viewer);
        return store.events(id);
    }

    /** Records a review. Refusals (separation of duties, stale digest, not pending) are recorded, then thrown. */
    public Request review(
            RequestId id, Principal reviewer, Verdict verdict, String reason, String channel, String shownDigest) {
        Instant now = clock.instant();
        // Checked before anything is recorded: a refused review's event carries the digest shown, and
        // every review its reason, so neither may be whatever a client sends.
        String why = InvalidRequestException.optionalText("reason", reason, MAX_REASON)
                .strip();
        if (shownDigest != null && !RequestDigest.wellFormed(shownDigest))
            throw new InvalidRequestException("digest", "must be 64 hex digits, as in the request's digest");
        return change(id, (tx, r) -> {
            try {
                checkReview(r, reviewer, verdict, why, shownDigest);
            } catch (RefusedException e) {
                tx.append(RequestEvents.reviewRefused(r, reviewer.id(), verdict, channel, e, now));
                throw e;
            }
            Review review = new Review(reviewer.id(), verdict, why, channel, now, reviewer.groups());
            Request next = r.withReview(review);
            tx.append(RequestEvents.reviewed(next, review));
            if (verdict == Verdict.DENY) {
                next = move(next, new Event.DenyReviewed(), now);
                tx.append(RequestEvents.moved(next, "request.denied", reviewer.id(), now, why));
            } else if (quorumMet(next)) {
                next = approve(next, now);
                tx.append(RequestEvents.moved(next, "request.approved", reviewer.id(), now, null));
                tx.append(RequestEvents.grantIssued(next));
            }
            return next;
        });
    }

    /** Withdraws a pending or approved-but-unused request; the requester's alone. */
    public Request cancel(RequestId id, Principal who) {
        Instant now = clock.instant();
        return change(id, (tx, r) -> {
            requireRequester(r, who);
            Request next = move(r, new Event.Cancelled(), now);
            tx.append(RequestEvents.moved(next, "request.cancelled", who.id(), now, null));
            return next;
        });
    }

    /** Revokes an approved request's unused grant; any human eligible to review it may. */
    public Request revoke(RequestId id, Principal who, String reason) {
        Instant now = clock.instant();
        if (reason != null) InvalidRequestException.optionalText("reason", reason, MAX_REASON);
        return change(id, (tx, r) -> {
            Optional<RefusedException> refused = SeparationOfDuties.refuseReviewer(r, who);
            if (refused.isPresent()) throw refused.get();
            Request next = move(r, new Event.Revoked(), now);
            tx.append(RequestEvents.moved(next, "request.revoked", who.id(), now, reason));
            return next;
        });
    }

    /** Consumes the grant, once, for exactly the digest it was issued for; the requester's alone. */
    public Request redeem(RequestId id, Principal who, String digest) {
        Instant now = clock.instant();
        return change(id, (tx, r) -> {
            requireRequester(r, who);
            if (r.grant() != null && !RequestDigest.matches(r.grant().digest(), digest)) {
                RefusedException e = new RefusedException(
                        Refusal.DIGEST_MISMATCH,
                        "the grant is bound to digest " + r.grant().digest()
                                + "; a changed action needs a new request");
                tx.append(RequestEvents.redeemRefused(r, who.id(), e, now));
                throw e;
            }
            Request moved;
            try {
                moved = move(r, new Event.Redeemed(), now);
            } catch (RefusedException e) { // a replayed, expired or revoked grant: on record too
                tx.append(RequestEvents.redeemRefused(r, who.id(), e, now));
                throw e;
            }
            Request next = moved.withGrant(moved.grant().redeem(now), now);
            tx.append(RequestEvents.redeemed(next, now));
            return next;
        });
    }

    /** Records what came of a redeemed request; the requester's alone. */
    public Request reportOutcome(
            RequestId id, Principal who, Outcome.Status status, String resultSha256, String detail) {
        Outcome outcome = new Outcome(status, resultSha256, detail, clock.instant());
        return change(id, (tx, r) -> withOutcome(tx, r, who, outcome));
    }

    /**
     * An outcome reported now and recorded later, in the transaction of another write: see {@link
     * #reportOutcomes} and {@link #submitToRunNow(Principal, ActionRequest, List)}.
     *
     * @param request the redeemed request
     * @param who its requester, reporting
     * @param outcome what came of it, with the time it was reported
     */
    public record OutcomeReport(RequestId request, Principal who, Outcome outcome) {
        public OutcomeReport {
            Objects.requireNonNull(request, "request");
            Objects.requireNonNull(who, "who");
            Objects.requireNonNull(outcome, "outcome");
        }
    }

    /** Records outcomes held back by their reporters in one write; refused ones are skipped and reported to the listener. */
    public void reportOutcomes(List<OutcomeReport> outcomes) {
        if (outcomes.isEmpty()) return;
        Instant now = clock.instant();
        announce(store.write(tx -> record(tx, outcomes, now)));
    }

    /** Expires every request whose pending_ttl or grant_ttl has passed; returns how many. */
    public int expireDue(int limit) {
        Instant now = clock.instant();
        List<RequestId> due = store.dueForExpiry(now, limit);
        if (due.isEmpty()) return 0;
        List<Request> expired = store.write(tx -> {
            List<Request> out = new ArrayList<>();
            for (RequestId id : due) {
                Optional<Request> r = tx.find(id);
                if (r.isEmpty()) continue;
                Request next = expireIfDue(tx, r.get(), now);
                if (next != r.get()) out.add(next);
            }
            return out;
        });
        for (Request r : expired) changed(r, RequestState.PENDING);
        return expired.size();
    }

    // ---- internals -------------------------------------------------------------------------

    /** A change to one request inside one write; may throw RefusedException after appending events. */
    @FunctionalInterface
    private interface Change {
        Request apply(Tx tx, Request current);
    }

    private sealed interface Step<T> {
        record Done<T>(T value, RequestState from) implements Step<T> {}

        record Refused<T>(RefusedException refusal) implements Step<T> {}
    }

    /** An outcome recorded in a write: the request after it and its state before, or why it was refused. */
    private record Recorded(Request request, RequestState from, RefusedException refused) {}

    private List<Recorded> record(Tx tx, List<OutcomeReport> outcomes, Instant now) {
        List<Recorded> out = new ArrayList<>(outcomes.size());
        for (OutcomeReport o : outcomes) {
            Optional<Request> current = tx.find(o.request());
            if (current.isEmpty()) continue; // not the reporter's to know about: as a refusal would be
            try {
                Request next = withOutcome(tx, expireIfDue(tx, current.get(), now), o.who(), o.outcome());
                tx.update(next);
                out.add(new Recorded(next, current.get().state(), null));
            } catch (RefusedException e) {
                out.add(new Recorded(null, null, e));
            }
        }
        return out;
    }

    private void announce(List<Recorded> recorded) {
        for (Recorded r : recorded) {
            if (r.refused() != null) listener.refused(r.refused().refusal());
            else changed(r.request(), r.from());
        }
    }

    private static Request withOutcome(Tx tx, Request r, Principal who, Outcome outcome) {
        requireRequester(r, who);
        Event event = outcome.status() == Outcome.Status.EXECUTED ? new Event.Executed() : new Event.Failed();
        Request next = move(r, event, outcome.at()).withOutcome(outcome);
        tx.append(RequestEvents.outcome(next));
        return next;
    }

    private Request change(RequestId id, Change change) {
        Instant now = clock.instant();
        Step<Request> step = store.write(tx -> {
            Request current = tx.find(id).orElseThrow(() -> new RequestNotFoundException(id));
            Request live = expireIfDue(tx, current, now);
            try {
                Request next = change.apply(tx, live);
                tx.update(next);
                return new Step.Done<>(next, current.state());
            } catch (RefusedException e) {
                return new Step.Refused<>(e);
            }
        });
        Request result = unwrap(step);
        changed(result, ((Step.Done<Request>) step).from());
        return result;
    }

    private <T> T unwrap(Step<T> step) {
        return switch (step) {
            case Step.Done<T> d -> d.value();
            case Step.Refused<T> r -> throw refusal(r.refusal());
        };
    }

    private RefusedException refusal(RefusedException e) {
        listener.refused(e.refusal());
        return e;
    }

    private Step<Submitted> replay(Tx tx, IdempotentSubmission earlier, String fingerprint) {
        if (!earlier.fingerprint().equals(fingerprint)) {
            return new Step.Refused<>(new RefusedException(
                    Refusal.IDEMPOTENCY_KEY_REUSED,
                    "this Idempotency-Key was used for a different request (" + earlier.requestId() + ")"));
        }
        return new Step.Done<>(new Submitted(tx.find(earlier.requestId()).orElseThrow(), true), null);
    }

    private void changed(Request r, RequestState from) {
        if (r.state() != from) listener.transitioned(r, from);
        waiters.changed(r.id());
    }

    private Request decided(Principal requester, ActionRequest action, Decision decision, Instant now) {
        RequestId id = RequestId.generate(now, random);
        RequestState state = movedTo(RequestStateMachine.Lifecycle.UNDECIDED, new Event.Decided(decision));
        Instant expiresAt = decision instanceof Decision.RequireApproval r ? now.plus(r.pendingTtl()) : null;
        Request request = new Request(
                id,
                requester,
                action,
                RequestDigest.of(requester, action),
                decision,
                state,
                List.of(),
                null,
                null,
                now,
                expiresAt,
                now);
        return state == RequestState.APPROVED
                ? request.withGrant(newGrant(request, grantTtl(decision), now), now)
                : request;
    }

    private Request approve(Request r, Instant now) {
        Request approved = move(r, new Event.QuorumMet(), now);
        return approved.withGrant(newGrant(approved, grantTtl(r.decision()), now), now);
    }

    private Grant newGrant(Request r, Duration ttl, Instant now) {
        return new Grant("grt_" + HexFormat.of().formatHex(randomBytes(16)), r.digest(), now, now.plus(ttl), null);
    }

    private static Duration grantTtl(Decision d) {
        return switch (d) {
            case Decision.Allow a -> a.grantTtl();
            case Decision.RequireApproval r -> r.grantTtl();
            case Decision.Deny x -> Duration.ZERO;
        };
    }

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static Request move(Request r, Event event, Instant now) {
        return r.withState(movedTo(r.lifecycle(), event), now);
    }

    private static RequestState movedTo(RequestStateMachine.Lifecycle from, Event event) {
        return switch (RequestStateMachine.apply(from, event)) {
            case Transition.Moved m -> m.to().state();
            case Transition.Refused x -> throw new RefusedException(x.refusal(), x.reason());
        };
    }

    /** A read that finds a request past its TTL expires it first, so no reader ever sees a stale state. */
    private Request expireNow(Request seen) {
        Instant now = clock.instant();
        Request expired = store.write(tx -> expireIfDue(tx, tx.find(seen.id()).orElseThrow(), now));
        changed(expired, seen.state());
        return expired;
    }

    private static boolean isDue(Request r, Instant now) {
        boolean pendingDue = r.state() == RequestState.PENDING && r.expiresAt() != null && !now.isBefore(r.expiresAt());
        boolean grantDue = r.state() == RequestState.APPROVED
                && r.grant() != null
                && !r.grant().isRedeemed()
                && r.grant().isExpiredAt(now);
        return pendingDue || grantDue;
    }

    private Request expireIfDue(Tx tx, Request r, Instant now) {
        if (!isDue(r, now)) return r;
        boolean pendingDue = r.state() == RequestState.PENDING;
        Request next = move(r, new Event.TimedOut(), now);
        tx.append(RequestEvents.moved(
                next, "request.expired", RequestEvents.SYSTEM, now, pendingDue ? "pending_ttl" : "grant_ttl"));
        tx.update(next);
        return next;
    }

    private void checkReview(Request r, Principal reviewer, Verdict verdict, String reason, String shownDigest) {
        Optional<RefusedException> refused = SeparationOfDuties.refuseReviewer(r, reviewer);
        if (refused.isPresent()) throw refused.get();
        if (shownDigest != null && !RequestDigest.matches(r.digest(), shownDigest)) {
            throw new RefusedException(
                    Refusal.STALE_DIGEST,
                    "the review was for digest " + shownDigest + " but the request's digest is " + r.digest());
        }
        if (r.state() != RequestState.PENDING) {
            throw new RefusedException(
                    Refusal.NOT_PENDING, "the request is " + r.state().wire() + "; only pending requests are reviewed");
        }
        if (r.reviews().stream().anyMatch(v -> v.reviewer().equals(reviewer.id()))) {
            throw new RefusedException(Refusal.ALREADY_REVIEWED, reviewer.id() + " has reviewed this request already");
        }
        boolean reasonRequired =
                verdict == Verdict.DENY || r.decision() instanceof Decision.RequireApproval ra && ra.reasonRequired();
        if (reasonRequired && reason.isEmpty()) {
            throw new RefusedException(
                    Refusal.REASON_REQUIRED,
                    verdict == Verdict.DENY
                            ? "a denial needs a reason"
                            : "policy requires a reason with each approval of this request");
        }
    }

    private boolean quorumMet(Request r) {
        Set<String> ids = new LinkedHashSet<>();
        List<Principal> approvers = new java.util.ArrayList<>();
        for (Review v : r.reviews()) {
            if (v.verdict() != Verdict.APPROVE || !ids.add(v.reviewer())) continue;
            // Reviews recorded before groups were kept on them fall back to the directory.
            Optional<Principal> p = v.groups() != null
                    ? Optional.of(Principal.human(v.reviewer(), v.groups()))
                    : directory.find(v.reviewer());
            p.ifPresent(approvers::add);
        }
        return SeparationOfDuties.quorumMet(((Decision.RequireApproval) r.decision()).approvals(), approvers);
    }

    private boolean mayReview(Principal viewer, Request r) {
        return r.state() == RequestState.PENDING
                && SeparationOfDuties.refuseReviewer(r, viewer).isEmpty()
                && r.reviews().stream().noneMatch(v -> v.reviewer().equals(viewer.id()));
    }

    private static boolean canSee(Principal viewer, Request r) {
        String id = viewer.id();
        if (id.equals(r.requester().id())
                || id.equals(r.requester().owner())
                || id.equals(r.action().onBehalfOf())) {
            return true;
        }
        return viewer.isHuman()
                && r.decision() instanceof Decision.RequireApproval ra
                && ra.approvals().stream().anyMatch(a -> a.admits(viewer));
    }

    private static void requireRequester(Request r, Principal who) {
        if (!who.id().equals(r.requester().id())) {
            throw new RefusedException(
                    Refusal.NOT_REQUESTER, "only the requester " + r.requester().id() + " may do this");
        }
    }

    private void requireKnownHuman(String id) {
        if (id == null) return;
        if (directory.find(id).filter(Principal::isHuman).isEmpty()) {
            throw refusal(new RefusedException(
                    Refusal.UNKNOWN_ON_BEHALF_OF, "on_behalf_of '" + id + "' is not a known human"));
        }
    }

    private static String fingerprint(Principal requester, ActionRequest action) {
        var node = RequestDigest.subject(requester, action);
        node.put("justification", action.justification());
        node.set("context", action.context());
        return CanonicalJson.sha256Hex(node);
    }
}
