package io.countersign.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.LedgerEvent;
import io.countersign.core.RequestId;
import io.countersign.core.json.CanonicalJson;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Ledger events shaped like the ones {@code RequestService} appends for an allowed submission:
 * {@code request.submitted} (about 590 bytes as a leaf), {@code request.decided} and {@code
 * grant.issued}, with the same fields, random hashes and ids, and times that move forward. Seeded,
 * so a data set is the same on every run (but for the times, on a shared {@link Clock}, which depend
 * on how the writers interleave); one instance per thread.
 *
 * <p>Request ids start with their time, so where the times come from decides where the store's
 * index of events by request takes each new id. Instances given one {@link Clock} read one time
 * line, as the request service reads its one clock: ids arrive nearly in order, at the end of the
 * index. Without it, each instance keeps its own time, and the times of concurrent writers drift
 * apart: every id lands somewhere else in the index (as events of old requests would).
 */
final class SubmissionEvents {
    /** Events one allowed submission appends in its transaction. */
    static final int PER_SUBMISSION = 3;

    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final String[] ACTIONS = {"db.query", "shell.exec", "k8s.scale", "deploy.promote", "secrets.read"};
    private static final String[] AGENTS = {"deploy-bot", "billing-agent", "support-bot", "etl-runner"};
    private static final String[] OWNERS = {"alice", "bob", "platform-team", "data-eng"};
    private static final String[] RESOURCES = {"orders", "payments", "web", "invoices"};
    private static final String[] DOMAINS = {"payments", "checkout", "identity", "analytics"};
    private static final String[] JUSTIFICATIONS = {
        "nightly reconciliation", "campaign traffic spike", "ticket 88213: refund lookup", "promote release 2025.03.2",
    };

    private static final Instant START = Instant.parse("2025-03-03T09:00:00Z");

    private final SplittableRandom random;
    private final HexFormat hex = HexFormat.of();
    private final Clock shared;
    private Instant now = START;

    /** Events on this instance's own time line. */
    SubmissionEvents(long seed) {
        this(seed, null);
    }

    /** Events on {@code shared}'s time line, or on this instance's own when it is null. */
    SubmissionEvents(long seed, Clock shared) {
        this.random = new SplittableRandom(seed);
        this.shared = shared;
    }

    /**
     * A simulated time line that several instances read: it moves on by a millisecond after about
     * 16 submissions (some 50 events), near the rate the ledger is meant to take.
     */
    static final class Clock {
        private final AtomicLong millis = new AtomicLong(START.toEpochMilli());

        Instant next(SplittableRandom random) {
            return Instant.ofEpochMilli(millis.addAndGet(random.nextInt(16) == 0 ? 1 : 0));
        }
    }

    /**
     * {@code count} events of consecutive submissions, in the order they are appended: one event is a
     * {@code request.submitted}; three are a whole submission.
     */
    List<LedgerEvent> next(int count) {
        List<LedgerEvent> out = new ArrayList<>(count);
        while (out.size() < count) {
            List<LedgerEvent> submission = submission();
            out.addAll(submission.subList(0, Math.min(submission.size(), count - out.size())));
        }
        return out;
    }

    /** The three events of one allowed submission. */
    List<LedgerEvent> submission() {
        now = shared == null ? now.plusMillis(1 + random.nextInt(40)) : shared.next(random);
        RequestId id = RequestId.generate(now, random);
        String agent = pick(AGENTS);
        String digest = sha256();
        return List.of(submitted(id, agent, digest), decided(id), granted(id, digest));
    }

    private LedgerEvent submitted(RequestId id, String agent, String digest) {
        ObjectNode d = F.objectNode()
                .put("requester_kind", "agent")
                .put("action_type", pick(ACTIONS))
                .put("params_sha256", sha256())
                .put("context_sha256", sha256())
                .put("justification", pick(JUSTIFICATIONS))
                .put("digest", digest)
                .put("owner", pick(OWNERS));
        ObjectNode resource = d.putObject("resource")
                .put("type", "table")
                .put("id", pick(RESOURCES))
                .put("env", random.nextInt(4) == 0 ? "staging" : "prod")
                .put("domain", pick(DOMAINS));
        resource.putArray("tags").add(random.nextBoolean() ? "pii" : "tier-1");
        return new LedgerEvent("request.submitted", id, now, agent, d);
    }

    private LedgerEvent decided(RequestId id) {
        ObjectNode d = F.objectNode().put("outcome", "allow").put("policy_version", "sha256:" + sha256());
        d.putArray("matched_rules").add("reads-are-fine");
        return new LedgerEvent("request.decided", id, now, "system", d);
    }

    private LedgerEvent granted(RequestId id, String digest) {
        byte[] grant = new byte[16];
        random.nextBytes(grant);
        ObjectNode d = F.objectNode()
                .put("grant_id", "grt_" + hex.formatHex(grant))
                .put("digest", digest)
                .put("expires_at", now.plusSeconds(300).toString());
        return new LedgerEvent("grant.issued", id, now, "system", d);
    }

    /** The leaf bytes the store writes for {@code e} at {@code index}: its canonical JSON with the index. */
    static String leaf(LedgerEvent e, long index) {
        ObjectNode o = e.toJson();
        o.put("index", index);
        return CanonicalJson.canonicalize(o);
    }

    private String pick(String[] values) {
        return values[random.nextInt(values.length)];
    }

    private String sha256() {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return hex.formatHex(b);
    }
}
