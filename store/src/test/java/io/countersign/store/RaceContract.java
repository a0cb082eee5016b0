package io.countersign.store;

import static io.countersign.store.Demo.BOB;
import static io.countersign.store.Demo.BOT;
import static io.countersign.store.Demo.CAROL;
import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.core.LedgerEvent;
import io.countersign.core.Principal;
import io.countersign.core.Refusal;
import io.countersign.core.RefusedException;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.RequestState;
import io.countersign.core.Verdict;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** Races between people and machines: each resolves to exactly one outcome. */
abstract class RaceContract extends RequestServiceContract {

    /** Runs every task at once (released together) and returns what each returned or threw. */
    static List<Object> race(List<Callable<Object>> tasks) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        try (ExecutorService pool = Executors.newFixedThreadPool(tasks.size())) {
            List<Future<Object>> futures = new ArrayList<>();
            for (Callable<Object> t : tasks) {
                futures.add(pool.submit(() -> {
                    go.await();
                    try {
                        return t.call();
                    } catch (RefusedException e) {
                        return e.refusal();
                    }
                }));
            }
            go.countDown();
            List<Object> out = new ArrayList<>();
            for (Future<Object> f : futures) out.add(f.get());
            return out;
        }
    }

    long count(RequestId id, String type) {
        return store.events(id).stream()
                .map(LedgerEvent::type)
                .filter(type::equals)
                .count();
    }

    @RepeatedTest(5)
    void sixteenReviewersRacingForTwoSlotsYieldExactlyTwoApprovalsAndOneGrant() throws Exception {
        Request r = pendingExport();
        List<Callable<Object>> tasks = new ArrayList<>();
        for (Principal owner : Demo.OWNERS) {
            tasks.add(() -> service.review(r.id(), owner, Verdict.APPROVE, "ok", "api", null)
                    .state());
        }
        List<Object> results = race(tasks);
        assertThat(results).filteredOn(o -> o instanceof RequestState).hasSize(2);
        assertThat(results).filteredOn(o -> o == Refusal.NOT_PENDING).hasSize(14);
        Request after = service.get(r.id(), BOT);
        assertThat(after.state()).isEqualTo(RequestState.APPROVED);
        assertThat(after.reviews()).hasSize(2);
        assertThat(count(r.id(), "grant.issued")).isEqualTo(1);
        assertThat(count(r.id(), "request.approved")).isEqualTo(1);
    }

    @RepeatedTest(5)
    void anApprovalRacingADenialHasExactlyOneOutcome() throws Exception {
        Request r = pendingExport();
        service.review(r.id(), BOB, Verdict.APPROVE, "ok", "api", null);
        List<Object> results = race(List.of(
                () -> service.review(r.id(), CAROL, Verdict.APPROVE, "ok", "api", null)
                        .state(),
                () -> service.review(r.id(), Demo.ERIN, Verdict.DENY, "no", "api", null)
                        .state()));
        assertThat(results).filteredOn(o -> o instanceof RequestState).hasSize(1);
        assertThat(results).filteredOn(o -> o == Refusal.NOT_PENDING).hasSize(1);
        RequestState end = service.get(r.id(), BOT).state();
        assertThat(end).isIn(RequestState.APPROVED, RequestState.DENIED);
        assertThat(count(r.id(), "request.approved") + count(r.id(), "request.denied"))
                .isEqualTo(1);
    }

    @RepeatedTest(5)
    void sixteenRedeemsRacingConsumeTheGrantOnce() throws Exception {
        Request r = service.submit(BOT, Demo.readQuery(), null).request();
        List<Callable<Object>> tasks = new ArrayList<>();
        for (int i = 0; i < 16; i++)
            tasks.add(() -> service.redeem(r.id(), BOT, r.digest()).grant().redeemedAt());
        List<Object> results = race(tasks);
        assertThat(results).filteredOn(o -> o instanceof java.time.Instant).hasSize(1);
        assertThat(results).filteredOn(o -> o == Refusal.ALREADY_REDEEMED).hasSize(15);
        assertThat(count(r.id(), "grant.redeemed")).isEqualTo(1);
    }

    @Test
    void reviewsRacingTheExpirySweeperGiveEachRequestExactlyOneOutcome() throws Exception {
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Request r = service.submit(BOT, Demo.piiExport("t" + i), null).request();
            service.review(r.id(), BOB, Verdict.APPROVE, "first", "api", null);
            requests.add(r);
        }
        clock.advance(Duration.ofMinutes(25)); // grants issued now expire at +35m, after pending expiry at +30m
        CountDownLatch halfway = new CountDownLatch(20);
        AtomicInteger approvals = new AtomicInteger();
        Thread reviewer = Thread.ofVirtual().start(() -> {
            for (Request r : requests) {
                try {
                    service.review(r.id(), CAROL, Verdict.APPROVE, "second", "api", null);
                    approvals.incrementAndGet();
                } catch (RefusedException e) {
                    assertThat(e.refusal()).isEqualTo(Refusal.NOT_PENDING);
                }
                halfway.countDown();
            }
        });
        halfway.await();
        clock.advance(Duration.ofMinutes(5));
        int expired = 0;
        for (int n; (n = service.expireDue(1000)) > 0; ) expired += n;
        reviewer.join();
        expired += service.expireDue(1000);
        for (Request r : requests) {
            long approved = count(r.id(), "request.approved");
            long timedOut = count(r.id(), "request.expired");
            assertThat(approved + timedOut).as("outcomes of %s", r.id()).isEqualTo(1);
            RequestState state = service.get(r.id(), BOT).state();
            assertThat(state).isEqualTo(approved == 1 ? RequestState.APPROVED : RequestState.EXPIRED);
        }
        assertThat(approvals.get()).isGreaterThanOrEqualTo(20);
        long totalExpired = requests.stream()
                .filter(r -> count(r.id(), "request.expired") == 1)
                .count();
        assertThat(approvals.get() + totalExpired).isEqualTo(40);
        assertThat(expired).isLessThanOrEqualTo((int) totalExpired);
    }
}
