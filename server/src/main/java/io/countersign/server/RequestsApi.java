package io.countersign.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.ActionRequest;
import io.countersign.core.Durations;
import io.countersign.core.Outcome;
import io.countersign.core.Principal;
import io.countersign.core.RefusedException;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.RequestService;
import io.countersign.core.RequestState;
import io.countersign.core.Verdict;
import io.countersign.core.json.Json;
import io.countersign.core.policy.Policy;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.time.Clock;
import java.time.Duration;

/** The {@code /v1} routes. Each handler authenticates, parses, calls the request service, and writes JSON. */
final class RequestsApi {
    private final RequestService service;
    private final Policy policy;
    private final Authenticator auth;
    private final Clock clock;
    private final Duration maxWait;

    RequestsApi(RequestService service, Policy policy, Authenticator auth, Clock clock, Duration maxWait) {
        this.service = service;
        this.policy = policy;
        this.auth = auth;
        this.clock = clock;
        this.maxWait = maxWait;
    }

    record ReviewBody(Verdict verdict, String reason, String digest) {}

    record ReasonBody(String reason) {}

    record RedeemBody(String digest) {}

    record OutcomeBody(Outcome.Status status, String resultSha256, String detail) {}

    void routes(HttpRules rules) {
        rules.post("/v1/requests", this::submit)
                .get("/v1/requests", this::list)
                .get("/v1/requests/{id}", this::get)
                .get("/v1/requests/{id}/events", this::events)
                .post("/v1/requests/{id}/reviews", this::review)
                .post("/v1/requests/{id}/cancel", this::cancel)
                .post("/v1/requests/{id}/revoke", this::revoke)
                .post("/v1/requests/{id}/redeem", this::redeem)
                .post("/v1/requests/{id}/outcome", this::outcome)
                .post("/v1/policy/evaluate", this::evaluate);
    }

    private void submit(ServerRequest req, ServerResponse res) {
        Principal who = auth.principal(req);
        ActionRequest action = Bodies.read(req, ActionRequest.class);
        String key = req.headers().first(HeaderNames.create("Idempotency-Key")).orElse(null);
        if (key != null && (key.isBlank() || key.length() > 255)) {
            throw Bodies.problem(
                    400, "invalid-idempotency-key", "Invalid Idempotency-Key", "the key must be 1-255 characters");
        }
        RequestService.Submitted s = service.submit(who, action, key);
        if (s.replayed()) res.header("Idempotent-Replayed", "true");
        res.header(HeaderNames.LOCATION, "/v1/requests/" + s.request().id());
        json(res, Status.CREATED_201, Views.requestBytes(s.request()));
    }

    private void get(ServerRequest req, ServerResponse res) throws InterruptedException {
        Principal who = auth.principal(req);
        RequestId id = id(req);
        QueryParameters.only(req, "wait");
        var wait = req.query().first("wait");
        Request r = wait.isPresent() ? service.await(id, who, waitFor(wait.get())) : service.get(id, who);
        json(res, Status.OK_200, Views.requestBytes(r));
    }

    private void list(ServerRequest req, ServerResponse res) {
        Principal who = auth.principal(req);
        QueryParameters.only(req, "state", "limit");
        RequestState state = req.query().first("state").map(RequestsApi::state).orElse(null);
        int limit = req.query().first("limit").map(RequestsApi::limit).orElse(100);
        ArrayNode items = Json.mapper().createArrayNode();
        service.list(who, state, limit).forEach(r -> items.add(Views.request(r)));
        ObjectNode o = Json.mapper().createObjectNode();
        o.set("requests", items);
        json(res, Status.OK_200, o);
    }

    private void events(ServerRequest req, ServerResponse res) {
        Principal who = auth.principal(req);
        ArrayNode items = Json.mapper().createArrayNode();
        service.events(id(req), who).forEach(e -> items.add(Views.event(e)));
        ObjectNode o = Json.mapper().createObjectNode();
        o.set("events", items);
        json(res, Status.OK_200, o);
    }

    /**
     * Where a review over the API came from, as the ledger records it: {@code cli} when the request
     * says it came from {@code countersign review} (its User-Agent), else {@code api}. Only a label:
     * who reviewed is the authenticated principal, whatever a client says about itself.
     */
    static String channel(ServerRequest req) {
        return req.headers()
                        .first(HeaderNames.USER_AGENT)
                        .filter(ua -> ua.startsWith("countersign-cli/"))
                        .isPresent()
                ? "cli"
                : "api";
    }

    private void review(ServerRequest req, ServerResponse res) {
        Principal who = auth.principal(req);
        RequestId id = id(req);
        ReviewBody body = Bodies.read(req, ReviewBody.class);
        if (body.verdict() == null)
            throw Bodies.problem(400, "invalid-field", "Invalid field value", "verdict: approve or deny is required");
        Request reviewed;
        try {
            reviewed = service.review(id, who, body.verdict(), body.reason(), channel(req), body.digest());
        } catch (RefusedException e) {
            throw auth.explained(req, who, e);
        }
        json(res, Status.OK_200, Views.request(reviewed));
    }

    private void cancel(ServerRequest req, ServerResponse res) {
        Principal who = auth.principal(req);
        json(res, Status.OK_200, Views.request(service.cancel(id(req), who)));
    }

    private void revoke(ServerRequest req, ServerResponse res) {
        Principal who = auth.principal(req);
        RequestId id = id(req);
        String reason =
                req.content().hasEntity() ? Bodies.read(req, ReasonBody.class).reason() : null;
        json(res, Status.OK_200, Views.request(service.revoke(id, who, reason)));
    }

    private void redeem(ServerRequest req, ServerResponse res) {
        Principal who = auth.principal(req);
        RequestId id = id(req);
        RedeemBody body = Bodies.read(req, RedeemBody.class);
        if (body.digest() == null)
            throw Bodies.problem(400, "invalid-field", "Invalid field value", "digest: is required");
        json(res, Status.OK_200, Views.request(service.redeem(id, who, body.digest())));
    }

    private void outcome(ServerRequest req, ServerResponse res) {
        Principal who = auth.principal(req);
        RequestId id = id(req);
        OutcomeBody b = Bodies.read(req, OutcomeBody.class);
        if (b.status() == null)
            throw Bodies.problem(400, "invalid-field", "Invalid field value", "status: executed or failed is required");
        json(
                res,
                Status.OK_200,
                Views.request(service.reportOutcome(id, who, b.status(), b.resultSha256(), b.detail())));
    }

    private void evaluate(ServerRequest req, ServerResponse res) {
        Principal who = auth.principal(req);
        ActionRequest action = Bodies.read(req, ActionRequest.class);
        json(res, Status.OK_200, Views.explanation(policy.explain(who, action, clock.instant())));
    }

    private Duration waitFor(String text) {
        Duration d;
        try {
            d = Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw Bodies.problem(400, "invalid-wait", "Invalid wait", e.getMessage());
        }
        if (d.compareTo(maxWait) > 0) {
            throw Bodies.problem(
                    400,
                    "invalid-wait",
                    "Invalid wait",
                    "wait may be at most " + Durations.format(maxWait) + "; got " + text);
        }
        return d;
    }

    static RequestId id(ServerRequest req) {
        String raw = req.path().pathParameters().get("id");
        try {
            return RequestId.parse(raw);
        } catch (RequestId.MalformedIdException e) {
            throw Bodies.problem(400, "invalid-request-id", "Invalid request id", e.getMessage());
        }
    }

    private static RequestState state(String text) {
        try {
            return RequestState.fromWire(text);
        } catch (IllegalArgumentException e) {
            throw Bodies.problem(400, "invalid-query", "Invalid query parameter", "state: " + e.getMessage());
        }
    }

    private static int limit(String text) {
        try {
            int n = Integer.parseInt(text);
            if (n >= 1 && n <= 500) return n;
        } catch (NumberFormatException ignored) {
            // fall through to the problem
        }
        throw Bodies.problem(400, "invalid-query", "Invalid query parameter", "limit: must be 1-500; got " + text);
    }

    static void json(ServerResponse res, Status status, com.fasterxml.jackson.databind.JsonNode body) {
        json(res, status, Bodies.write(body));
    }

    static void json(ServerResponse res, Status status, byte[] body) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.send(body);
    }
}
