package io.countersign.server.channels;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.core.RequestId;
import io.countersign.core.json.Json;
import io.countersign.core.spi.Outbox;
import io.countersign.server.Problem;
import io.countersign.server.QueryParameters;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.List;

/**
 * {@code GET /v1/deliveries} (people only: every channel's deliveries, filtered by state and
 * channel) and {@code GET /v1/requests/{id}/deliveries} (whoever may see the request).
 */
public final class DeliveriesApi {
    private final ChannelContext ctx;

    public DeliveriesApi(ChannelContext ctx) {
        this.ctx = ctx;
    }

    public void routes(HttpRules rules) {
        rules.get("/v1/deliveries", this::list).get("/v1/requests/{id}/deliveries", this::forRequest);
    }

    private void list(ServerRequest req, ServerResponse res) {
        Principal who = ctx.authenticate().apply(req);
        if (who.kind() != PrincipalKind.HUMAN)
            throw new Problem(
                            403,
                            "wrong-principal-kind",
                            "People only",
                            "only people list every delivery; an agent or service sees its own request's at"
                                    + " /v1/requests/{id}/deliveries")
                    .thrown();
        QueryParameters.only(req, "state", "channel", "limit");
        Outbox.Delivery.State state = req.query()
                .first("state")
                .map(s -> {
                    try {
                        return Outbox.Delivery.State.ofWire(s);
                    } catch (IllegalArgumentException e) {
                        throw new Problem(
                                        400,
                                        "invalid-parameter",
                                        "Invalid parameter",
                                        "state must be pending, delivered or dead; got '" + s + "'")
                                .thrown();
                    }
                })
                .orElse(null);
        String channel = req.query().first("channel").orElse(null);
        int limit = limit(req);
        send(res, visible(ctx.outbox().list(state, channel, limit), who));
    }

    private void forRequest(ServerRequest req, ServerResponse res) {
        Principal who = ctx.authenticate().apply(req);
        RequestId id;
        try {
            id = new RequestId(req.path().pathParameters().get("id"));
        } catch (RequestId.MalformedIdException e) {
            throw new Problem(400, "invalid-request-id", "Invalid request id", e.getMessage()).thrown();
        }
        ctx.service().get(id, who); // the same visibility as the request itself
        send(res, ctx.outbox().forRequest(id));
    }

    /** Only deliveries of requests {@code who} may see (as on the API), and those of no request. */
    private List<Outbox.Delivery> visible(List<Outbox.Delivery> all, Principal who) {
        java.util.Map<RequestId, Boolean> seen = new java.util.HashMap<>();
        return all.stream()
                .filter(d -> d.draft().requestId() == null
                        || seen.computeIfAbsent(d.draft().requestId(), id -> canSee(id, who)))
                .toList();
    }

    private boolean canSee(RequestId id, Principal who) {
        try {
            ctx.service().get(id, who);
            return true;
        } catch (io.countersign.core.RequestNotFoundException e) {
            return false;
        }
    }

    private static int limit(ServerRequest req) {
        String text = req.query().first("limit").orElse("100");
        try {
            int n = Integer.parseInt(text);
            if (n >= 1 && n <= 1000) return n;
        } catch (NumberFormatException e) {
            // fall through to the problem below
        }
        throw new Problem(400, "invalid-parameter", "Invalid parameter", "limit must be 1-1000; got '" + text + "'")
                .thrown();
    }

    private static void send(ServerResponse res, List<Outbox.Delivery> deliveries) {
        ObjectNode root = Json.mapper().createObjectNode();
        ArrayNode items = root.putArray("deliveries");
        deliveries.forEach(d -> items.add(view(d)));
        res.status(Status.OK_200);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(root.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    static ObjectNode view(Outbox.Delivery d) {
        ObjectNode o = Json.mapper().createObjectNode();
        o.put("id", d.id());
        o.put("channel", d.draft().channel());
        o.put("kind", d.draft().kind());
        o.put("target", d.draft().target());
        if (d.draft().requestId() != null)
            o.put("request_id", d.draft().requestId().value());
        o.put("event_index", d.draft().eventIndex());
        o.put("event_type", d.draft().eventType());
        o.put("state", d.state().wire());
        o.put("attempts", d.attempts());
        if (d.state() == Outbox.Delivery.State.PENDING)
            o.put("next_attempt_at", d.nextAttemptAt().toString());
        if (d.lastError() != null) o.put("last_error", d.lastError());
        o.put("created_at", d.createdAt().toString());
        if (d.deliveredAt() != null) o.put("delivered_at", d.deliveredAt().toString());
        return o;
    }
}
