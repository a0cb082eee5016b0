package io.countersign.core.spi;

import io.countersign.core.LedgerEvent;
import io.countersign.core.RequestId;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Deliveries to notification channels, planned from the ledger.
 *
 * <p>The ledger is the transactional outbox: every event is stored in the transaction of the change
 * it records. A fan-out reads the events after its cursor ({@link #eventsAfter}) and stores, with the
 * cursor's new position, the deliveries they ask for ({@link #plan}). Each delivery is then claimed
 * under a lease ({@link #claim}), tried, and settled: delivered, retried later, or dead. A process
 * that dies mid-attempt leaves the lease to run out, and the delivery is claimed again.
 */
public interface Outbox {

    /** Ledger events with index greater than {@code after}, in index order, at most {@code limit}. */
    List<Sequenced> eventsAfter(long after, int limit);

    /** The index of the ledger's last event, or -1 when it is empty. */
    long lastIndex();

    /** The position of cursor {@code name}, or empty when it was never set. */
    Optional<Long> cursor(String name);

    /** Moves cursor {@code name} to {@code position} and stores {@code drafts}, in one durable write. */
    void plan(String name, long position, List<Draft> drafts, Instant now);

    /**
     * Leases up to {@code limit} pending deliveries of {@code channel} due at {@code now} until {@code
     * leaseUntil}, counts an attempt on each, and returns them.
     */
    List<Delivery> claim(String channel, Instant now, Instant leaseUntil, int limit);

    /** Marks a delivery done, keeping the channel's {@code ref}; appends {@code event} (if any) in the same write. */
    void delivered(long id, String ref, Instant at, LedgerEvent event);

    /** Leaves a delivery pending until {@code next}, remembering why it failed. */
    void retry(long id, String error, Instant next);

    /** Gives up on a delivery. */
    void dead(long id, String error, Instant at);

    /** The deliveries of one request, oldest first. */
    List<Delivery> forRequest(RequestId id);

    /** Deliveries by state and channel (either null for any), newest first. */
    List<Delivery> list(Delivery.State state, String channel, int limit);

    /** How many deliveries each channel has in each state. */
    Map<String, Map<Delivery.State, Long>> counts();

    /** Records {@code nonce} as used; false when it already was (a replayed link or interaction). */
    boolean useOnce(String nonce, Instant at);

    /**
     * Forgets deliveries delivered or given up before {@code settledBefore}, and used nonces recorded
     * before {@code usedBefore} (whatever they guarded has expired by then); returns how many rows went.
     */
    int prune(Instant settledBefore, Instant usedBefore);

    /**
     * One ledger event as stored.
     *
     * @param index its leaf index
     * @param type its type, e.g. {@code request.decided}
     * @param requestId the request it concerns, or null
     * @param body its leaf bytes: RFC 8785 canonical JSON
     */
    record Sequenced(long index, String type, RequestId requestId, String body) {
        public Sequenced {
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(body, "body");
        }
    }

    /**
     * A delivery a channel asks for.
     *
     * @param channel the channel's name
     * @param kind what to do, in the channel's terms
     * @param target where to, in the channel's terms (never a secret: a webhook's name, not its URL)
     * @param requestId the request concerned, or null
     * @param eventIndex the event that asked for it
     * @param eventType that event's type
     */
    record Draft(String channel, String kind, String target, RequestId requestId, long eventIndex, String eventType) {
        public Draft {
            Objects.requireNonNull(channel, "channel");
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(eventType, "eventType");
        }
    }

    /**
     * A planned delivery and how it went.
     *
     * @param id its id
     * @param draft what was asked for
     * @param state pending, delivered or dead
     * @param attempts attempts so far, counting one that is under way
     * @param nextAttemptAt when it is next due (while an attempt runs, the end of its lease)
     * @param lastError why the last attempt failed, or null
     * @param ref the channel's handle on what it delivered (a Slack message's ts), or null
     * @param createdAt when it was planned
     * @param deliveredAt when it was delivered, or null
     */
    record Delivery(
            long id,
            Draft draft,
            State state,
            int attempts,
            Instant nextAttemptAt,
            String lastError,
            String ref,
            Instant createdAt,
            Instant deliveredAt) {
        public Delivery {
            Objects.requireNonNull(draft, "draft");
            Objects.requireNonNull(state, "state");
        }

        /** Where a delivery is. */
        public enum State {
            PENDING,
            DELIVERED,
            DEAD;

            public String wire() {
                return name().toLowerCase(java.util.Locale.ROOT);
            }

            public static State ofWire(String s) {
                return valueOf(s.toUpperCase(java.util.Locale.ROOT));
            }
        }
    }
}
