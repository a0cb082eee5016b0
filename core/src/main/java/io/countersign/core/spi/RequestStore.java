package io.countersign.core.spi;

import io.countersign.core.LearnedLink;
import io.countersign.core.LedgerEvent;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.RequestState;
import io.countersign.core.ToolPin;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where requests and their events live. Implementations: SQLite (embedded), later PostgreSQL.
 *
 * <p>Contract. {@link #write} runs its work in one transaction with every other write serialised
 * before or after it (so read-modify-write inside the work needs no further locking), and returns
 * only once the transaction is durable. An implementation may commit several works in one
 * transaction (group commit); a work that throws is rolled back alone. Reads see only committed data.
 */
public interface RequestStore extends AutoCloseable {

    /** Runs {@code work} in a transaction and returns its result once durable. */
    <T> T write(Work<T> work);

    /** A request by id, as last committed. */
    Optional<Request> find(RequestId id);

    /** Requests matching {@code query}, newest first. */
    List<Request> list(Query query);

    /** Requests that may need expiring at {@code now}: pending past expiry, or approved with an unused grant past expiry. */
    List<RequestId> dueForExpiry(Instant now, int limit);

    /** Every event recorded for {@code id}, in order. */
    List<LedgerEvent> events(RequestId id);

    /** The pinned tool definitions of one MCP upstream, by tool name, as last committed. */
    Map<String, ToolPin> toolPins(String upstream);

    /** Every link verified tokens have taught, as last committed. */
    List<LearnedLink> learnedLinks();

    @Override
    void close();

    /**
     * A listing filter.
     *
     * @param requester only requests by this principal, or null for any
     * @param state only requests in this state, or null for any
     * @param limit at most this many
     */
    record Query(String requester, RequestState state, int limit) {}

    /** What a write does inside its transaction. */
    @FunctionalInterface
    interface Work<T> {
        T run(Tx tx);
    }

    /** The operations available inside a write. */
    interface Tx {
        Optional<Request> find(RequestId id);

        void insert(Request request);

        /**
         * {@link #insert(Request)}, given the request's JSON as {@link io.countersign.core.json.Json#mapper()}
         * writes it, made ahead of the write on the caller's thread: a store that keeps that form
         * stores {@code json} as it is rather than serialising again on its single writer.
         */
        default void insert(Request request, String json) {
            insert(request);
        }

        void update(Request request);

        /** Appends {@code event} to the ledger, in this transaction. */
        default void append(LedgerEvent event) {
            append(event.prepare());
        }

        /** Appends an event whose leaf was canonicalised ahead of the write ({@link LedgerEvent#prepare()}). */
        void append(LedgerEvent.Prepared event);

        /** The request an earlier submission with this key made, and the fingerprint of that submission. */
        Optional<IdempotentSubmission> idempotent(String requester, String key);

        void rememberIdempotent(String requester, String key, IdempotentSubmission submission);

        /**
         * The newest request by {@code requester} for {@code digest} that is still open: pending, or
         * approved with its grant unused.
         */
        Optional<Request> findOpen(String requester, String digest);

        Optional<ToolPin> toolPin(String upstream, String tool);

        void putToolPin(ToolPin pin);

        /** The link learned for this kind and value, if any. */
        Optional<LearnedLink> learnedLink(String kind, String value);

        /** Stores a link not learned before ({@link #learnedLink} is empty for it); a link is never re-pointed. */
        void learn(LearnedLink link);
    }

    /**
     * A remembered Idempotency-Key.
     *
     * @param requestId the request the first submission made
     * @param fingerprint SHA-256 of the first submission's canonical body
     */
    record IdempotentSubmission(RequestId requestId, String fingerprint) {}
}
