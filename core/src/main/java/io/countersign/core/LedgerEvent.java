package io.countersign.core;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.CanonicalJson;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/**
 * One event of a request's life, appended in the same transaction as the change it records. Its
 * canonical JSON ({@link #toJson()}) is a ledger leaf. Events carry metadata, never payloads:
 * params, context and results appear as SHA-256 hashes.
 *
 * @param type e.g. {@code request.submitted}, {@code review.refused}, {@code grant.redeemed}
 * @param requestId the request it concerns, or null for an event of the system (a policy load, a key
 *     rotation)
 * @param at when it happened
 * @param actor the principal whose act it records ({@code system} for expiry)
 * @param detail type-specific fields
 */
public record LedgerEvent(String type, RequestId requestId, Instant at, String actor, ObjectNode detail) {
    public LedgerEvent {
        Objects.requireNonNull(type, "type");
        at = at.truncatedTo(ChronoUnit.MILLIS);
        Objects.requireNonNull(actor, "actor");
        detail = detail == null ? JsonNodeFactory.instance.objectNode() : detail;
    }

    /** The leaf object, less its index: type, request_id, at, actor, then the detail's fields. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("type", type);
        if (requestId != null) o.put("request_id", requestId.value());
        o.put("at", at.toString());
        o.put("actor", actor);
        o.setAll(detail);
        return o;
    }

    /**
     * This event with its leaf canonicalised now, all but the index that the ledger's sequencer gives
     * it at its write: done on the caller's thread, this leaves the store's single writer only the
     * index to splice in.
     */
    public Prepared prepare() {
        return new Prepared(this, CanonicalJson.slot(toJson(), "index"));
    }

    /**
     * An event and its leaf less the index.
     *
     * @param event the event
     * @param leaf its canonical JSON ({@link #toJson()}) with the member {@code index} left open
     */
    public record Prepared(LedgerEvent event, CanonicalJson.Slot leaf) {
        public Prepared {
            Objects.requireNonNull(event, "event");
            Objects.requireNonNull(leaf, "leaf");
        }

        /** The leaf bytes: the event's canonical JSON with its own {@code index} in the log. */
        public String leafAt(long index) {
            return leaf.with(index);
        }
    }
}
