package io.countersign.server;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.ActionRequest;
import io.countersign.core.Decision;
import io.countersign.core.Grant;
import io.countersign.core.LedgerEvent;
import io.countersign.core.Outcome;
import io.countersign.core.Principal;
import io.countersign.core.Request;
import io.countersign.core.Review;
import io.countersign.core.json.Json;
import io.countersign.core.policy.Explanation;
import java.util.List;

/** The API's JSON shapes. A request is flattened: action, resource, justification at the top level. */
final class Views {
    private Views() {}

    static ObjectNode request(Request r) {
        return Json.mapper().valueToTree(new RequestView(r));
    }

    /** {@link #request}'s JSON, written straight from the request: no tree in between. */
    static byte[] requestBytes(Request r) {
        try {
            return Json.mapper().writeValueAsBytes(new RequestView(r));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a request always serialises", e);
        }
    }

    /** A request as the API shows it, in this order; absent parts (grant, outcome, expiry) are left out. */
    private record RequestView(
            String id,
            String state,
            String digest,
            Principal requester,
            @JsonUnwrapped ActionRequest action,
            Decision decision,
            List<Review> reviews,
            Grant grant,
            Outcome outcome,
            String createdAt,
            String expiresAt,
            String updatedAt) {
        RequestView(Request r) {
            this(
                    r.id().value(),
                    r.state().wire(),
                    r.digest(),
                    r.requester(),
                    r.action(),
                    r.decision(),
                    r.reviews(),
                    r.grant(),
                    r.outcome(),
                    r.createdAt().toString(),
                    r.expiresAt() == null ? null : r.expiresAt().toString(),
                    r.updatedAt().toString());
        }
    }

    static ObjectNode event(LedgerEvent e) {
        return e.toJson();
    }

    static ObjectNode explanation(Explanation e) {
        return (ObjectNode) tree(e);
    }

    static JsonNode tree(Object value) {
        return Json.mapper().valueToTree(value);
    }
}
