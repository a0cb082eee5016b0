package io.countersign.store;

import static io.countersign.store.Demo.ALICE;
import static io.countersign.store.Demo.BOB;
import static io.countersign.store.Demo.BOT;
import static io.countersign.store.Demo.CAROL;
import static io.countersign.store.Demo.DAVE;
import static io.countersign.store.Demo.ERIN;
import static io.countersign.store.Demo.ETL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.core.Decision;
import io.countersign.core.LedgerEvent;
import io.countersign.core.Outcome;
import io.countersign.core.Refusal;
import io.countersign.core.RefusedException;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.RequestListener;
import io.countersign.core.RequestNotFoundException;
import io.countersign.core.RequestService;
import io.countersign.core.RequestState;
import io.countersign.core.Verdict;
import io.countersign.core.spi.RequestStore;
import io.countersign.core.testing.MutableClock;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.assertj.core.api.ThrowableAssert;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The request service's behaviour over a real store. Written once; each store implementation
 * subclasses it (SQLite now, PostgreSQL next).
 */
abstract class RequestServiceContract {
    @TempDir
    Path dir;

    RequestStore store;
    MutableClock clock;
    RequestService service;

    /** A fresh, empty store. */
    abstract RequestStore openStore(Path dir);

    @BeforeEach
    void start() {
        store = openStore(dir);
        clock = new MutableClock(Instant.parse("2026-11-21T09:00:00Z"));
        service = new RequestService(
                Demo.examplePolicy(), store, Demo.DIRECTORY, clock, new SecureRandom(), RequestListener.NONE);
    }

    @AfterEach
    void stop() {
        store.close();
    }

    @Test
    void theQuorumCountsApproversWithTheGroupsTheyReviewedWithEvenWhenTheDirectoryNoLongerKnowsThem() {
        // bob is known only from his token when he approves (as a person the IdP vouches for is);
        // after a restart the directory has forgotten him, and carol's approval must still complete
        // the quorum of two data owners.
        Request r = pendingExport();
        service.review(r.id(), BOB, Verdict.APPROVE, "ok", "api", null);
        RequestService afterRestart = new RequestService(
                Demo.examplePolicy(),
                store,
                id -> "bob".equals(id) ? java.util.Optional.empty() : Demo.DIRECTORY.find(id),
                clock,
                new SecureRandom(),
                RequestListener.NONE);
        Request done = afterRestart.review(r.id(), CAROL, Verdict.APPROVE, "ok", "api", null);
        assertThat(done.state()).isEqualTo(RequestState.APPROVED);
        assertThat(done.reviews().getFirst().groups()).containsExactly("data-owners");
        assertThat(store.events(r.id()).stream()
                        .filter(e -> e.type().equals("review.recorded"))
                        .map(e -> e.detail().path("reviewer_groups").toString()))
                .containsExactly("[\"data-owners\"]", "[\"data-owners\",\"security\"]");
    }

    Request pendingExport() {
        Request r = service.submit(BOT, Demo.piiExport("customers"), null).request();
        assertThat(r.state()).isEqualTo(RequestState.PENDING);
        return r;
    }

    List<String> eventTypes(RequestId id) {
        return store.events(id).stream().map(LedgerEvent::type).toList();
    }

    static void refused(Refusal expected, ThrowableAssert.ThrowingCallable call) {
        assertThatThrownBy(call)
                .isInstanceOfSatisfying(
                        RefusedException.class, e -> assertThat(e.refusal()).isEqualTo(expected));
    }

    @Test
    void allowedRequestIsApprovedWithAGrantAtOnce() {
        Request r = service.submit(BOT, Demo.readQuery(), null).request();
        assertThat(r.state()).isEqualTo(RequestState.APPROVED);
        assertThat(r.decision()).isInstanceOf(Decision.Allow.class);
        assertThat(r.grant().digest()).isEqualTo(r.digest());
        assertThat(r.grant().expiresAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(5)));
        assertThat(eventTypes(r.id())).containsExactly("request.submitted", "request.decided", "grant.issued");
        assertThat(store.find(r.id())).contains(r);
    }

    @Test
    void deniedRequestRecordsTheRuleAndReason() {
        var params = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance
                .objectNode()
                .put("principal", "deploy-bot");
        var grant = new io.countersign.core.ActionRequest(
                new io.countersign.core.Action("iam.grant", params),
                new io.countersign.core.Resource("role", "admin", "dev", List.of(), ""),
                "",
                null,
                null);
        Request r = service.submit(BOT, grant, null).request();
        assertThat(r.state()).isEqualTo(RequestState.DENIED);
        assertThat(((Decision.Deny) r.decision()).reason()).isEqualTo("an identity may not grant privileges to itself");
        assertThat(r.decision().matchedRules()).containsExactly("no-self-escalation");
    }

    @Test
    void humansCannotSubmit() {
        refused(Refusal.WRONG_PRINCIPAL_KIND, () -> service.submit(BOB, Demo.readQuery(), null));
    }

    @Test
    void deniesApprovalByTheRequestersOwnerAndRecordsTheAttempt() {
        Request r = pendingExport();
        refused(Refusal.OWNER_REVIEW, () -> service.review(r.id(), ALICE, Verdict.APPROVE, "fine", "api", null));
        assertThat(service.get(r.id(), BOB).state()).isEqualTo(RequestState.PENDING);
        assertThat(service.get(r.id(), BOB).reviews()).isEmpty();
        assertThat(eventTypes(r.id())).endsWith("review.refused");
    }

    @Test
    void deniesApprovalByAnAgentWhateverItsGroups() {
        Request r = pendingExport();
        refused(Refusal.NON_HUMAN_REVIEWER, () -> service.review(r.id(), ETL, Verdict.APPROVE, "ok", "api", null));
    }

    @Test
    void deniesApprovalByTheHumanTheAgentActsFor() {
        Request r = service.submit(BOT, Demo.prodShell("systemctl restart worker", "dave"), null)
                .request();
        refused(Refusal.ON_BEHALF_OF_REVIEW, () -> service.review(r.id(), DAVE, Verdict.APPROVE, "", "api", null));
        Request approved = service.review(r.id(), CAROL, Verdict.APPROVE, "", "api", null);
        assertThat(approved.state()).isEqualTo(RequestState.APPROVED);
    }

    @Test
    void deniesApprovalByAHumanOutsideTheRequiredGroups() {
        Request r = pendingExport();
        refused(Refusal.INELIGIBLE_REVIEWER, () -> service.review(r.id(), DAVE, Verdict.APPROVE, "ok", "api", null));
    }

    @Test
    void twoDistinctDataOwnersApproveAndAGrantIsIssued() {
        Request r = pendingExport();
        Request once = service.review(r.id(), BOB, Verdict.APPROVE, "churn study is approved", "api", null);
        assertThat(once.state()).isEqualTo(RequestState.PENDING);
        refused(Refusal.ALREADY_REVIEWED, () -> service.review(r.id(), BOB, Verdict.APPROVE, "again", "api", null));
        Request twice = service.review(r.id(), CAROL, Verdict.APPROVE, "ok with DPO", "cli", null);
        assertThat(twice.state()).isEqualTo(RequestState.APPROVED);
        assertThat(twice.grant().digest()).isEqualTo(r.digest());
        assertThat(twice.reviews()).extracting(v -> v.reviewer()).containsExactly("bob", "carol");
        assertThat(eventTypes(r.id()))
                .containsSubsequence(
                        "review.recorded", "review.refused", "review.recorded", "request.approved", "grant.issued");
    }

    @Test
    void approvalWithoutARequiredReasonIsRefused() {
        Request r = pendingExport();
        refused(Refusal.REASON_REQUIRED, () -> service.review(r.id(), BOB, Verdict.APPROVE, "  ", "api", null));
    }

    @Test
    void aReviewForAnotherDigestIsRefused() {
        Request r = pendingExport();
        refused(Refusal.STALE_DIGEST, () -> service.review(r.id(), BOB, Verdict.APPROVE, "ok", "api", "0".repeat(64)));
        assertThat(service.review(
                                r.id(),
                                BOB,
                                Verdict.APPROVE,
                                "ok",
                                "api",
                                r.digest().toUpperCase())
                        .reviews())
                .hasSize(1);
    }

    @Test
    void oneDenialDeniesAndNeedsAReason() {
        Request r = pendingExport();
        refused(Refusal.REASON_REQUIRED, () -> service.review(r.id(), BOB, Verdict.DENY, "", "api", null));
        Request denied = service.review(r.id(), BOB, Verdict.DENY, "not this quarter", "api", null);
        assertThat(denied.state()).isEqualTo(RequestState.DENIED);
        refused(Refusal.NOT_PENDING, () -> service.review(r.id(), CAROL, Verdict.APPROVE, "ok", "api", null));
    }

    @Test
    void grantIsRedeemedExactlyOnceForItsDigest() {
        Request r = service.submit(BOT, Demo.readQuery(), null).request();
        refused(Refusal.DIGEST_MISMATCH, () -> service.redeem(r.id(), BOT, "f".repeat(64)));
        refused(Refusal.NOT_REQUESTER, () -> service.redeem(r.id(), ETL, r.digest()));
        Request redeemed = service.redeem(r.id(), BOT, r.digest());
        assertThat(redeemed.grant().redeemedAt()).isEqualTo(clock.instant());
        refused(Refusal.ALREADY_REDEEMED, () -> service.redeem(r.id(), BOT, r.digest()));
        assertThat(eventTypes(r.id()))
                .containsSubsequence("grant.redeem_refused", "grant.redeemed", "grant.redeem_refused");
    }

    @Test
    void grantExpiresUnusedAfterItsTtl() {
        Request r = service.submit(BOT, Demo.readQuery(), null).request();
        clock.advance(Duration.ofMinutes(5));
        refused(Refusal.EXPIRED, () -> service.redeem(r.id(), BOT, r.digest()));
        assertThat(service.get(r.id(), BOT).state()).isEqualTo(RequestState.EXPIRED);
        assertThat(eventTypes(r.id())).endsWith("request.expired", "grant.redeem_refused");
    }

    @Test
    void pendingRequestExpiresAtItsTtlThroughTheSweeper() {
        Request r = pendingExport();
        clock.advance(Duration.ofMinutes(29));
        assertThat(service.expireDue(100)).isZero();
        clock.advance(Duration.ofMinutes(1));
        assertThat(service.expireDue(100)).isEqualTo(1);
        assertThat(service.get(r.id(), BOT).state()).isEqualTo(RequestState.EXPIRED);
        refused(Refusal.NOT_PENDING, () -> service.review(r.id(), BOB, Verdict.APPROVE, "late", "api", null));
    }

    @Test
    void reviewAfterPendingTtlFindsItExpiredEvenBeforeTheSweeperRuns() {
        Request r = pendingExport();
        clock.advance(Duration.ofMinutes(31));
        refused(Refusal.NOT_PENDING, () -> service.review(r.id(), BOB, Verdict.APPROVE, "late", "api", null));
        assertThat(service.get(r.id(), BOT).state()).isEqualTo(RequestState.EXPIRED);
    }

    @Test
    void outcomeIsRecordedOnlyAfterRedeem() {
        Request r = service.submit(BOT, Demo.readQuery(), null).request();
        refused(Refusal.NOT_REDEEMED, () -> service.reportOutcome(r.id(), BOT, Outcome.Status.EXECUTED, null, "done"));
        service.redeem(r.id(), BOT, r.digest());
        Request done = service.reportOutcome(r.id(), BOT, Outcome.Status.EXECUTED, "a".repeat(64), "1 row");
        assertThat(done.state()).isEqualTo(RequestState.EXECUTED);
        assertThat(done.outcome().resultSha256()).isEqualTo("a".repeat(64));
        refused(Refusal.NOT_REDEEMED, () -> service.reportOutcome(r.id(), BOT, Outcome.Status.FAILED, null, "again"));
    }

    @Test
    void onlyTheRequesterCancels() {
        Request r = pendingExport();
        refused(Refusal.NOT_REQUESTER, () -> service.cancel(r.id(), ETL));
        assertThat(service.cancel(r.id(), BOT).state()).isEqualTo(RequestState.CANCELLED);
    }

    @Test
    void anEligibleApproverRevokesAnUnusedGrant() {
        Request r = pendingExport();
        service.review(r.id(), BOB, Verdict.APPROVE, "ok", "api", null);
        service.review(r.id(), CAROL, Verdict.APPROVE, "ok", "api", null);
        refused(Refusal.OWNER_REVIEW, () -> service.revoke(r.id(), ALICE, "mine"));
        Request revoked = service.revoke(r.id(), ERIN, "wrong quarter");
        assertThat(revoked.state()).isEqualTo(RequestState.REVOKED);
        refused(Refusal.NOT_APPROVED, () -> service.redeem(r.id(), BOT, r.digest()));
    }

    @Test
    void idempotencyKeyReturnsTheFirstRequestAndRefusesADifferentBody() {
        var first = service.submit(BOT, Demo.piiExport("customers"), "key-1");
        var retry = service.submit(BOT, Demo.piiExport("customers"), "key-1");
        assertThat(retry.replayed()).isTrue();
        assertThat(retry.request().id()).isEqualTo(first.request().id());
        refused(Refusal.IDEMPOTENCY_KEY_REUSED, () -> service.submit(BOT, Demo.piiExport("orders"), "key-1"));
        assertThat(store.list(new RequestStore.Query("deploy-bot", null, 10))).hasSize(1);
    }

    @Test
    void unknownOnBehalfOfIsRefused() {
        refused(Refusal.UNKNOWN_ON_BEHALF_OF, () -> service.submit(BOT, Demo.prodShell("uptime", "mallory"), null));
    }

    @Test
    void requestsAreInvisibleToUninvolvedPrincipals() {
        Request r = pendingExport();
        assertThatThrownBy(() -> service.get(r.id(), ETL)).isInstanceOf(RequestNotFoundException.class);
        assertThatThrownBy(() -> service.get(r.id(), DAVE)).isInstanceOf(RequestNotFoundException.class);
        assertThat(service.get(r.id(), ALICE).id()).isEqualTo(r.id());
    }

    @Test
    void pendingListForAHumanHoldsWhatTheyMayStillReview() {
        Request r = pendingExport();
        assertThat(service.list(BOB, RequestState.PENDING, 50))
                .extracting(Request::id)
                .containsExactly(r.id());
        assertThat(service.list(ALICE, RequestState.PENDING, 50)).isEmpty();
        assertThat(service.list(DAVE, RequestState.PENDING, 50)).isEmpty();
        service.review(r.id(), BOB, Verdict.APPROVE, "ok", "api", null);
        assertThat(service.list(BOB, RequestState.PENDING, 50)).isEmpty();
        assertThat(service.list(CAROL, RequestState.PENDING, 50))
                .extracting(Request::id)
                .containsExactly(r.id());
        assertThat(service.list(BOT, null, 50)).extracting(Request::id).containsExactly(r.id());
    }

    @Test
    void awaitReturnsWhenTheStateChanges() throws Exception {
        Request r = pendingExport();
        service.review(r.id(), BOB, Verdict.APPROVE, "ok", "api", null);
        Thread approver = Thread.ofVirtual().start(() -> {
            while (service.waiting() == 0) Thread.onSpinWait();
            service.review(r.id(), CAROL, Verdict.APPROVE, "ok", "api", null);
        });
        Request changed = service.await(r.id(), BOT, Duration.ofMinutes(5));
        approver.join();
        assertThat(changed.state()).isEqualTo(RequestState.APPROVED);
        assertThat(service.waiting()).isZero();
    }

    @Test
    void awaitReturnsTheUnchangedRequestWhenTimeRunsOut() throws Exception {
        Request r = pendingExport();
        assertThat(service.await(r.id(), BOT, Duration.ofMillis(20)).state()).isEqualTo(RequestState.PENDING);
        assertThat(service.waiting()).isZero();
    }

    @Test
    void everyEventIsStoredAsItsCanonicalLeaf() {
        Request r = pendingExport();
        List<LedgerEvent> events = store.events(r.id());
        assertThat(events).extracting(LedgerEvent::type).containsExactly("request.submitted", "request.decided");
        assertThat(events.get(0).detail().get("params_sha256").asText()).hasSize(64);
        assertThat(events.get(0).detail().has("params")).isFalse();
        assertThat(events.get(1).detail().get("policy_version").asText())
                .isEqualTo(r.decision().policyVersion());
    }

    @Test
    void aResumedSubmissionReturnsTheOpenRequestForItsRequesterAndDigest() {
        Request first = service.submitOrResume(BOT, Demo.piiExport("customers")).request();
        assertThat(first.state()).isEqualTo(RequestState.PENDING);
        RequestService.Submitted again = service.submitOrResume(BOT, Demo.piiExport("customers"));
        assertThat(again.replayed()).isTrue();
        assertThat(again.request().id()).isEqualTo(first.id());
        RequestService.Submitted other = service.submitOrResume(BOT, Demo.piiExport("orders"));
        assertThat(other.replayed()).isFalse();
        assertThat(other.request().id()).isNotEqualTo(first.id());
        assertThat(service.submitOrResume(BOT, Demo.piiExport("orders"))
                        .request()
                        .id())
                .isEqualTo(other.request().id());
    }

    @Test
    void aResumedSubmissionReturnsTheApprovedRequestUntilItsGrantIsUsed() {
        Request first = service.submitOrResume(BOT, Demo.piiExport("customers")).request();
        service.review(first.id(), BOB, Verdict.APPROVE, "ok", "api", null);
        service.review(first.id(), CAROL, Verdict.APPROVE, "ok", "api", null);
        assertThat(service.submitOrResume(BOT, Demo.piiExport("customers"))
                        .request()
                        .id())
                .isEqualTo(first.id());
        service.redeem(first.id(), BOT, first.digest());
        RequestService.Submitted after = service.submitOrResume(BOT, Demo.piiExport("customers"));
        assertThat(after.replayed()).isFalse();
        assertThat(after.request().state()).isEqualTo(RequestState.PENDING);
        assertThat(after.request().id()).isNotEqualTo(first.id());
    }

    @Test
    void aResumedSubmissionAfterTheOpenRequestExpiredOrWasDeniedAsksAgain() {
        Request first = service.submitOrResume(BOT, Demo.piiExport("customers")).request();
        clock.advance(Duration.ofHours(2));
        assertThat(service.expireDue(100)).isEqualTo(1);
        Request second =
                service.submitOrResume(BOT, Demo.piiExport("customers")).request();
        assertThat(second.id()).isNotEqualTo(first.id());
        service.review(second.id(), BOB, Verdict.DENY, "no", "api", null);
        Request third = service.submitOrResume(BOT, Demo.piiExport("customers")).request();
        assertThat(third.id()).isNotIn(first.id(), second.id());
        assertThat(third.state()).isEqualTo(RequestState.PENDING);
    }

    @Test
    void anAllowedSubmissionIsNeverResumed() {
        Request first = service.submitOrResume(BOT, Demo.readQuery()).request();
        RequestService.Submitted again = service.submitOrResume(BOT, Demo.readQuery());
        assertThat(again.replayed()).isFalse();
        assertThat(again.request().id()).isNotEqualTo(first.id());
    }

    @Test
    void aReadPastThePendingTtlRecordsTheExpiryBeforeTheSweeperRuns() {
        Request r = pendingExport();
        clock.advance(Duration.ofMinutes(30));
        assertThat(service.get(r.id(), BOT).state()).isEqualTo(RequestState.EXPIRED);
        assertThat(eventTypes(r.id())).endsWith("request.expired");
        assertThat(service.expireDue(100)).isZero();
    }
}
