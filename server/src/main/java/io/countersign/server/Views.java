package io.countersign.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.LedgerEvent;
import io.countersign.core.Request;
import io.countersign.core.json.Json;
import io.countersign.core.policy.Explanation;

/** The API's JSON shapes. A request is flattened: action, resource, justification at the top level. */
final class Views {
    private Views() {}

    static ObjectNode request(Request r) {
        ObjectNode o = Json.mapper().createObjectNode();
        o.put("id", r.id().value());
        o.put("state", r.state().wire());
        o.put("digest", r.digest());
        o.set("requester", tree(r.requester()));
        ObjectNode submitted = (ObjectNode) tree(r.action());
        o.setAll(submitted);
        o.set("decision", tree(r.decision()));
        o.set("reviews", tree(r.reviews()));
        if (r.grant() != null) o.set("grant", tree(r.grant()));
        if (r.outcome() != null) o.set("outcome", tree(r.outcome()));
        o.put("created_at", r.createdAt().toString());
        if (r.expiresAt() != null) o.put("expires_at", r.expiresAt().toString());
        o.put("updated_at", r.updatedAt().toString());
        return o;
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
