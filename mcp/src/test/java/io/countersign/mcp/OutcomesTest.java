package io.countersign.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.countersign.core.Action;
import io.countersign.core.ActionRequest;
import io.countersign.core.LedgerEvent;
import io.countersign.core.Outcome;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.core.Refusal;
import io.countersign.core.Request;
import io.countersign.core.RequestListener;
import io.countersign.core.RequestService;
import io.countersign.core.RequestService.OutcomeReport;
import io.countersign.core.RequestState;
import io.countersign.core.Resource;
import io.countersign.core.policy.Policy;
import io.countersign.core.spi.Directory;
import io.countersign.core.testing.MutableClock;
import io.countersign.ledger.SigningKey;
import io.countersign.store.LedgerSettings;
import io.countersign.store.SqliteStore;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tool calls' outcomes, held back and recorded with the next call's submission or by the timer, on
 * a real SQLite store through the real request service.
 */
class OutcomesTest {
    private static final Principal ALICE = Principal.human("alice", Set.of("engineering"));
    private static final Principal BOT =
            new Principal("deploy-bot", PrincipalKind.AGENT, Set.of(), "alice", null, null, Map.of());
    private static final Principal ETL =
            new Principal("etl-pipeline", PrincipalKind.SERVICE, Set.of(), null, null, null, Map.of());
    private static final String POLICY = """
            version: 1
            default: { decision: deny, reason: not a tool call }
            rules:
              - name: tools-run
                match: action.type == "mcp.tool"
                decision: allow
            """;

    @TempDir
    Path dir;

    private SqliteStore store;
    private RequestService service;
    private final List<Refusal> refused = new CopyOnWriteArrayList<>();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-21T09:00:00Z"));

    @BeforeEach
    void open() {
        store = SqliteStore.open(
                dir.resolve("countersign.db"),
                LedgerSettings.of(SigningKey.generate("countersign.test/ledger", new SecureRandom())));
        RequestListener listener = new RequestListener() {
            @Override
            public void refused(Refusal refusal) {
                refused.add(refusal);
            }
        };
        service = new RequestService(
                Policy.parse(POLICY),
                store,
                Directory.of(List.of(ALICE, BOT, ETL)),
                clock,
                new SecureRandom(),
                listener);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private static ActionRequest call(String message) {
        return new ActionRequest(
                new Action("mcp.tool", JsonNodeFactory.instance.objectNode().put("message", message)),
                new Resource("mcp_tool", "everything/echo", null, List.of(), null),
                null,
                null,
                null);
    }

    private Request run(String message, Outcomes outcomes) {
        return service.submitToRunNow(BOT, call(message), outcomes.take()).request();
    }

    private OutcomeReport executed(Request r, Principal who) {
        return new OutcomeReport(
                r.id(), who, new Outcome(Outcome.Status.EXECUTED, "a".repeat(64), null, clock.instant()));
    }

    private long writes() {
        return store.writeStats().works();
    }

    private List<String> events(Request r) {
        return service.events(r.id(), BOT).stream().map(LedgerEvent::type).toList();
    }

    @Test
    void anOutcomeRidesInTheNextCallsWriteInsteadOfOneOfItsOwn() {
        try (Outcomes outcomes = new Outcomes(service, Duration.ofMinutes(10))) {
            Request first = run("one", outcomes);
            outcomes.add(executed(first, BOT));
            assertThat(service.get(first.id(), BOT).state()).isEqualTo(RequestState.APPROVED);
            long before = writes();

            Request second = run("two", outcomes);

            assertThat(writes()).isEqualTo(before + 1);
            assertThat(service.get(first.id(), BOT).state()).isEqualTo(RequestState.EXECUTED);
            assertThat(service.get(first.id(), BOT).outcome().resultSha256()).isEqualTo("a".repeat(64));
            assertThat(events(first)).endsWith("grant.redeemed", "request.executed");
            assertThat(second.state()).isEqualTo(RequestState.APPROVED);
            assertThat(second.grant().isRedeemed()).isTrue();
            assertThat(outcomes.take()).isEmpty();
        }
    }

    @Test
    void anOutcomeNoCallTakesIsWrittenOnceItHasWaitedItsTime() throws InterruptedException {
        try (Outcomes outcomes = new Outcomes(service, Duration.ofMillis(100))) {
            Request r = run("alone", outcomes);
            long before = writes();

            outcomes.add(executed(r, BOT));

            assertThat(service.await(r.id(), BOT, Duration.ofSeconds(10)).state())
                    .isEqualTo(RequestState.EXECUTED);
            assertThat(writes()).isEqualTo(before + 1);
        }
    }

    @Test
    void aRefusedOutcomeIsSkippedAndTheCallItRodeWithGoesOn() {
        try (Outcomes outcomes = new Outcomes(service, Duration.ofMinutes(10))) {
            Request first = run("one", outcomes);
            outcomes.add(executed(first, ETL)); // not the requester's: refused

            Request second = run("two", outcomes);

            assertThat(second.state()).isEqualTo(RequestState.APPROVED);
            assertThat(service.get(first.id(), BOT).state()).isEqualTo(RequestState.APPROVED);
            assertThat(refused).containsExactly(Refusal.NOT_REQUESTER);
        }
    }

    @Test
    void outcomesAFailedSubmissionTookAreWrittenApartAndNotCarriedAgain() throws InterruptedException {
        try (Outcomes outcomes = new Outcomes(service, Duration.ofMinutes(10))) {
            Request r = run("one", outcomes);
            outcomes.add(executed(r, BOT));

            outcomes.giveBack(outcomes.take()); // as a submission that failed does

            assertThat(service.await(r.id(), BOT, Duration.ofSeconds(10)).state())
                    .isEqualTo(RequestState.EXECUTED);
            assertThat(outcomes.take()).isEmpty();
        }
    }

    @Test
    void closingWritesTheOutcomesStillWaiting() {
        Request r;
        try (Outcomes outcomes = new Outcomes(service, Duration.ofMinutes(10))) {
            r = run("one", outcomes);
            outcomes.add(executed(r, BOT));
            assertThat(service.get(r.id(), BOT).state()).isEqualTo(RequestState.APPROVED);
        }
        assertThat(service.get(r.id(), BOT).state()).isEqualTo(RequestState.EXECUTED);
    }

    @Test
    void manyOutcomesWaitingAreWrittenTogether() {
        try (Outcomes outcomes = new Outcomes(service, Duration.ofMinutes(10))) {
            List<Request> done = List.of(run("a", outcomes), run("b", outcomes), run("c", outcomes));
            done.forEach(r -> outcomes.add(executed(r, BOT)));
            long before = writes();

            run("d", outcomes);

            assertThat(writes()).isEqualTo(before + 1);
            assertThat(done)
                    .allSatisfy(
                            r -> assertThat(service.get(r.id(), BOT).state()).isEqualTo(RequestState.EXECUTED));
        }
    }
}
