package io.countersign.mcp;

import io.countersign.core.RequestService;
import io.countersign.core.RequestService.OutcomeReport;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outcomes of forwarded tool calls, recorded off the calls' path.
 *
 * <p>Design notes. A call's grant is redeemed durably before it is forwarded; its outcome is recorded
 * after the agent has the answer. Written at once, that outcome is a commit of its own, and an agent
 * that calls again straight away finds its next submission queued behind that commit's fsync: the
 * store has one writer. So an outcome waits here instead, and the next tool call's submission takes
 * every waiting outcome into its own transaction ({@link RequestService#submitToRunNow(
 * io.countersign.core.Principal, io.countersign.core.ActionRequest, List)}): one commit, no queueing.
 * An outcome that no submission has taken within {@link #FLUSH_AFTER} (the agent is thinking, or
 * done) is written by a timer, in one write with any others then due.
 *
 * <p>An outcome is thus in the ledger at most {@code FLUSH_AFTER} (plus a commit) after the answer;
 * one not yet written is lost if the process dies, as it would be between an answer and its own
 * write. A submission that fails gives back what it took ({@link #giveBack}), to be written apart at
 * once, never carried again: an outcome that cannot be written must not fail every later call. A
 * failed write of outcomes alone is logged; the calls have run. Closing writes the rest.
 */
final class Outcomes implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Outcomes.class);
    static final Duration FLUSH_AFTER = Duration.ofMillis(50);
    /** At most this many outcomes ride in one submission's transaction. */
    static final int MAX_CARRIED = 64;

    private final RequestService service;
    private final long flushAfterNanos;
    private final Deque<Waiting> waiting = new ArrayDeque<>(); // guarded by this
    private boolean timerRunning; // guarded by this
    private boolean closed; // guarded by this

    private record Waiting(OutcomeReport report, long since) {}

    Outcomes(RequestService service) {
        this(service, FLUSH_AFTER);
    }

    Outcomes(RequestService service, Duration flushAfter) {
        this.service = service;
        this.flushAfterNanos = flushAfter.toNanos();
    }

    /** Holds an outcome for the next submission, or the timer. */
    void add(OutcomeReport report) {
        hold(List.of(report));
    }

    /** The waiting outcomes (oldest first, at most {@link #MAX_CARRIED}), for a submission to record. */
    synchronized List<OutcomeReport> take() {
        List<OutcomeReport> out = new ArrayList<>(Math.min(waiting.size(), MAX_CARRIED));
        while (!waiting.isEmpty() && out.size() < MAX_CARRIED)
            out.add(waiting.pollFirst().report());
        return out;
    }

    /** Outcomes that a failed submission took and did not record: written apart, off the caller's path. */
    void giveBack(List<OutcomeReport> reports) {
        if (!reports.isEmpty())
            Thread.ofVirtual().name("countersign-mcp-outcomes").start(() -> write(reports));
    }

    private void hold(List<OutcomeReport> reports) {
        boolean late;
        boolean startTimer = false;
        synchronized (this) {
            late = closed;
            if (!late) {
                long now = System.nanoTime();
                reports.forEach(r -> waiting.addLast(new Waiting(r, now)));
                startTimer = !timerRunning;
                timerRunning = true;
            }
        }
        if (late) write(reports); // after close: at once
        else if (startTimer) Thread.ofVirtual().name("countersign-mcp-outcomes").start(this::timer);
    }

    /** Writes the outcomes no submission took in time; ends when none wait. */
    private void timer() {
        while (true) {
            long wait;
            List<OutcomeReport> due = new ArrayList<>();
            synchronized (this) {
                if (waiting.isEmpty() || closed) {
                    timerRunning = false;
                    return;
                }
                long now = System.nanoTime();
                while (!waiting.isEmpty() && now - waiting.peekFirst().since() >= flushAfterNanos)
                    due.add(waiting.pollFirst().report());
                wait = waiting.isEmpty() ? 0 : waiting.peekFirst().since() + flushAfterNanos - now;
            }
            write(due);
            if (due.isEmpty()) LockSupport.parkNanos(wait);
        }
    }

    private void write(List<OutcomeReport> reports) {
        if (reports.isEmpty()) return;
        try {
            service.reportOutcomes(reports);
        } catch (RuntimeException e) { // the calls ran; a failed record must not hide their results
            LOG.error("could not record the outcomes of {} MCP tool calls: {}", reports.size(), e.getMessage());
        }
    }

    /** Writes every outcome still waiting. */
    @Override
    public void close() {
        List<OutcomeReport> rest;
        synchronized (this) {
            closed = true;
            rest = new ArrayList<>(waiting.stream().map(Waiting::report).toList());
            waiting.clear();
        }
        write(rest);
    }
}
