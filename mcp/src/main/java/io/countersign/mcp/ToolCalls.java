package io.countersign.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Action;
import io.countersign.core.ActionRequest;
import io.countersign.core.Decision;
import io.countersign.core.InvalidRequestException;
import io.countersign.core.Outcome;
import io.countersign.core.RefusedException;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.RequestNotFoundException;
import io.countersign.core.RequestService.OutcomeReport;
import io.countersign.core.RequestService.Submitted;
import io.countersign.core.RequestState;
import io.countersign.core.Resource;
import io.countersign.core.ToolPins;
import io.countersign.core.json.CanonicalJson;
import io.countersign.core.json.NotCanonicalizableException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code tools/call} and {@code tools/list} of one session.
 *
 * <p>A call becomes an action request of type {@code mcp.tool} on the resource {@code
 * upstream/tool}, its params exactly the call's arguments, so the digest binds them. Allowed, it is
 * stored with its grant redeemed in one write and the call forwarded; the result's hash and {@code
 * isError} are recorded as the outcome once the agent has the answer ({@link Outcomes}). Denied, the agent gets an {@code isError} result with the reason and the request id.
 * Needing approval, the call is held (with progress, if the agent asked for it) until it is decided
 * or the hold time passes; then an {@code isError} result names the request, and the identical call,
 * retried, resumes that request ({@link io.countersign.core.RequestService#submitOrResume}) and runs
 * once on its grant. Nothing is forwarded but by the call that redeemed its grant: identical calls
 * held or retried at once share one request, and only the first to redeem it runs; the others get an
 * {@code isError} result naming the request. Arguments with no canonical JSON form (so no digest to
 * bind an approval to) are invalid params, and nothing is submitted.
 */
final class ToolCalls {
    private static final Logger LOG = LoggerFactory.getLogger(ToolCalls.class);
    static final String ACTION = "mcp.tool";
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    /** How often a held call checks that its agent is still there ({@link Outbound#stillThere}). */
    private static final long PROBE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final McpGateway gateway;
    private final GatewaySession session;
    /** The last listed tools and whether each may be called; empty until listed, cleared on list_changed. */
    private final Map<String, ToolPins.Status> tools = new ConcurrentHashMap<>();
    /** Every tool the upstream listed, those hidden from this agent too: a call to any other is refused. */
    private final Set<String> known = ConcurrentHashMap.newKeySet();

    private volatile boolean listed;
    /**
     * The connection to the upstream ({@link GatewaySession#relay}'s generation) whose listing {@link
     * #tools} holds. A call is forwarded only on that connection: a restarted upstream may be another
     * version of the program, its tools changed, so it is listed and checked again first.
     */
    private volatile long checked = GatewaySession.ANY;

    ToolCalls(McpGateway gateway, GatewaySession session) {
        this.gateway = gateway;
        this.session = session;
    }

    void forgetTools() {
        listed = false;
    }

    /** Relays tools/list, hides tools that policy denies outright, and checks the rest against their pins. */
    ObjectNode list(ObjectNode m, Outbound reply) {
        GatewaySession.Answered answered = session.relay(m, reply, GatewaySession.ANY);
        ObjectNode response = answered.response();
        JsonNode listedTools = response.path("result").path("tools");
        if (!listedTools.isArray()) return response;
        ArrayNode visible = F.arrayNode();
        if (answered.generation() != checked) { // another program may be answering: nothing it had is known
            known.clear();
            tools.clear();
        }
        check((ArrayNode) listedTools, visible);
        ((ObjectNode) response.get("result")).set("tools", visible);
        if (!m.path("params").has("cursor")) {
            checked = answered.generation();
            listed = true;
        }
        return response;
    }

    private void check(ArrayNode listedTools, ArrayNode visible) {
        String upstream = session.upstream().name();
        List<ToolPins.Listed> toCheck = new ArrayList<>();
        List<JsonNode> shown = new ArrayList<>();
        for (JsonNode t : listedTools) {
            String name = t.path("name").asText("");
            if (name.isEmpty()) continue;
            known.add(name);
            Resource resource = gateway.resource(session.upstream(), name);
            ActionRequest probe = new ActionRequest(new Action(ACTION, F.objectNode()), resource, null, null, null);
            if (gateway.policy()
                    .deniesWhateverTheParams(
                            session.agent(), probe, gateway.clock().instant())) continue;
            ObjectNode definition = F.objectNode().put("name", name);
            if (t.has("description")) definition.set("description", t.get("description"));
            if (t.has("inputSchema")) definition.set("input_schema", t.get("inputSchema"));
            toCheck.add(new ToolPins.Listed(name, CanonicalJson.sha256Hex(definition), definition, resource));
            shown.add(t);
        }
        Map<String, ToolPins.Status> statuses = gateway.pins().check(upstream, toCheck, session.agent());
        tools.putAll(statuses);
        // A definition not yet trusted is not shown: its description would reach the model before anyone
        // has read it (a changed description is where a poisoned tool says what to do).
        for (JsonNode t : shown)
            if (statuses.get(t.path("name").asText()) instanceof ToolPins.Status.Trusted) visible.add(t);
    }

    /** The gateway's own tools/list, all pages: before a call to a tool this session has not seen listed. */
    private void refresh() {
        known.clear();
        tools.clear();
        String cursor = null;
        long on = GatewaySession.ANY;
        do {
            ObjectNode params = F.objectNode();
            if (cursor != null) params.put("cursor", cursor);
            GatewaySession.Answered a = session.relayOwn("tools/list", params);
            if (on != GatewaySession.ANY && a.generation() != on) { // restarted between two pages: start again
                refresh();
                return;
            }
            on = a.generation();
            JsonNode result = a.response().path("result");
            if (!result.path("tools").isArray()) { // not listed: policy decides the call, as always
                checked = on;
                return;
            }
            check((ArrayNode) result.get("tools"), F.arrayNode());
            cursor = result.hasNonNull("nextCursor") ? result.get("nextCursor").asText() : null;
        } while (cursor != null);
        checked = on;
        listed = true;
    }

    /** A call's answer; its outcome is recorded by what it leaves in {@code afterReply}, once the agent has the answer. */
    ObjectNode call(ObjectNode m, Outbound reply, List<Runnable> afterReply) {
        JsonNode id = m.get("id");
        ObjectNode params = JsonRpc.params(m);
        JsonNode name = params.get("name");
        // Not read as its text: 12 is not the tool "12".
        if (name != null && !name.isTextual())
            throw new GatewaySession.InvalidParamsException("tools/call params.name must be a string");
        String tool = name == null ? "" : name.textValue();
        if (tool.isEmpty()) throw new GatewaySession.InvalidParamsException("tools/call needs params.name");
        JsonNode args = params.get("arguments");
        if (args != null && !args.isObject() && !args.isNull())
            throw new GatewaySession.InvalidParamsException("tools/call params.arguments must be an object");
        // A tool not seen listed, or blocked when last seen (its re-approval may have come since), or an
        // upstream started again since it was listed: list again.
        if (!listed || !(tools.get(tool) instanceof ToolPins.Status.Trusted) || session.generation() != checked)
            refresh();
        // A tool the upstream does not have: the specification's error, and no request for people to decide.
        if (listed && !known.contains(tool)) throw new GatewaySession.InvalidParamsException("Unknown tool: " + tool);
        if (tools.get(tool) instanceof ToolPins.Status.Blocked b) return result(id, b.reason(), true);

        ActionRequest action;
        try {
            action = new ActionRequest(
                    new Action(ACTION, args instanceof ObjectNode o ? o : F.objectNode()),
                    gateway.resource(session.upstream(), tool),
                    null,
                    null,
                    F.objectNode().put("mcp_session", session.id()));
        } catch (InvalidRequestException e) {
            throw new GatewaySession.InvalidParamsException(e.getMessage());
        }
        Submitted submitted;
        try {
            submitted = submit(action);
        } catch (RefusedException e) {
            return result(id, "Countersign refused this call: " + e.getMessage(), true);
        } catch (InvalidRequestException e) { // arguments nested too deep to store and serve back
            throw new GatewaySession.InvalidParamsException("tools/call params.arguments: " + e.getMessage());
        } catch (NotCanonicalizableException e) { // no digest, so nothing an approval could be bound to
            throw new GatewaySession.InvalidParamsException(
                    "tools/call params.arguments have no canonical JSON form: " + e.getMessage());
        }
        Request r = submitted.request();
        return switch (r.state()) {
            // A new allowed request comes with its grant redeemed in the same write; a resumed one does not.
            case APPROVED -> run(m, reply, r, !submitted.replayed() && r.grant().isRedeemed(), afterReply);
            case PENDING -> hold(m, reply, r, afterReply);
            default -> result(id, refusedText(r), true);
        };
    }

    /** Submits a call; earlier calls' outcomes that wait to be recorded ride in the same write ({@link Outcomes}). */
    private Submitted submit(ActionRequest action) {
        List<OutcomeReport> carried = gateway.outcomes().take();
        try {
            return gateway.service().submitToRunNow(session.agent(), action, carried);
        } catch (RuntimeException e) { // then none of them was written
            gateway.outcomes().giveBack(carried);
            throw e;
        }
    }

    /** Waits for the decision, with progress; runs the call if it is approved in time. */
    private ObjectNode hold(ObjectNode m, Outbound reply, Request pending, List<Runnable> afterReply) {
        JsonNode id = m.get("id");
        JsonNode token = m.path("params").path("_meta").get("progressToken");
        Held held = new Held(pending.id());
        session.holding(id, held);
        long every = gateway.config().progressInterval().toNanos();
        long step = Math.min(every, PROBE_NANOS);
        long now = System.nanoTime();
        long deadline = now + gateway.config().hold().toNanos();
        long nextBeat = now;
        long nextProbe = now + PROBE_NANOS;
        int beat = 0;
        boolean gone = false;
        Request r = pending;
        try {
            while (r.state() == RequestState.PENDING && !held.cancelled) {
                now = System.nanoTime();
                long left = deadline - now;
                if (left <= 0) break;
                if (token != null && now - nextBeat >= 0) {
                    reply.send(progress(token, ++beat, awaiting(r)));
                    nextBeat = now + every;
                }
                r = gateway.service().await(r.id(), session.agent(), Duration.ofNanos(Math.min(left, step)));
                // Where a dropped connection is the agent's cancellation (the stateless revision), look for it.
                if (r.state() == RequestState.PENDING && System.nanoTime() - nextProbe >= 0) {
                    if (!reply.stillThere()) {
                        gone = true;
                        break;
                    }
                    nextProbe = System.nanoTime() + PROBE_NANOS;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            r = gateway.service().get(pending.id(), session.agent());
        } catch (RequestNotFoundException e) {
            return result(id, "request " + pending.id() + " is gone", true);
        } finally {
            session.holding(id, null);
        }
        if (gone) held.cancel();
        if (held.cancelled) {
            return result(id, "Cancelled by the client; request " + pending.id() + " was withdrawn.", true);
        }
        return switch (r.state()) {
            case APPROVED -> run(m, reply, r, false, afterReply);
            case PENDING ->
                result(
                        id,
                        awaiting(r) + " Retry this exact call once it is approved: it will run once."
                                + " A call with different arguments is a new request.",
                        true);
            default -> result(id, refusedText(r), true);
        };
    }

    /**
     * Redeems the grant unless this call's own submission did ({@code redeemed}), forwards the call, and
     * leaves the recording of what came of it for after the answer. A grant seen redeemed by anyone else
     * is not this call's: an identical call held on the same request (or resuming it) may have used it,
     * and only the store's redemption, refused to all but one, says which of them runs.
     */
    private ObjectNode run(
            ObjectNode m, Outbound reply, Request approved, boolean redeemed, List<Runnable> afterReply) {
        JsonNode id = m.get("id");
        if (!redeemed) {
            try {
                gateway.service().redeem(approved.id(), session.agent(), approved.digest());
            } catch (RefusedException e) {
                return result(
                        id,
                        "Countersign refused to run this call (request " + approved.id() + "): " + e.getMessage(),
                        true);
            }
        }
        ObjectNode response;
        try {
            response = forward(m, reply);
        } catch (Blocked b) {
            Instant at = gateway.clock().instant();
            afterReply.add(() -> outcome(approved.id(), Outcome.Status.FAILED, null, "not run: " + b.reason, at));
            return result(id, b.reason, true);
        } catch (GatewaySession.UpstreamException e) {
            Instant at = gateway.clock().instant();
            afterReply.add(() ->
                    outcome(approved.id(), Outcome.Status.FAILED, null, "upstream failure: " + e.getMessage(), at));
            throw e;
        }
        Instant at = gateway.clock().instant();
        JsonNode result = response.get("result");
        if (result == null) {
            String detail =
                    "JSON-RPC error " + response.path("error").path("code").asInt();
            afterReply.add(() -> outcome(approved.id(), Outcome.Status.FAILED, null, detail, at));
        } else {
            boolean isError = result.path("isError").asBoolean(false);
            afterReply.add(() -> outcome(
                    approved.id(),
                    isError ? Outcome.Status.FAILED : Outcome.Status.EXECUTED,
                    result,
                    isError ? "isError" : null,
                    at));
        }
        return response;
    }

    /**
     * Forwards a call on the connection whose tools were checked. If the upstream was started again
     * since, the new one is listed and checked first, and the call goes on only if its tool is still
     * trusted: otherwise {@link Blocked}, and nothing was sent.
     */
    private ObjectNode forward(ObjectNode m, Outbound reply) {
        String tool = m.path("params").path("name").asText("");
        for (int attempt = 1; ; attempt++) {
            try {
                return session.relay(m, reply, checked).response();
            } catch (GatewaySession.RestartedException e) {
                if (attempt == 3) throw new GatewaySession.UpstreamException("the MCP server keeps restarting");
                refresh();
                if (listed && !known.contains(tool))
                    throw new Blocked(
                            "the restarted MCP server " + session.upstream().name() + " has no tool " + tool);
                if (tools.get(tool) instanceof ToolPins.Status.Blocked b) throw new Blocked(b.reason());
            }
        }
    }

    /** A call that may not go on after all. */
    private static final class Blocked extends RuntimeException {
        final String reason;

        Blocked(String reason) {
            super(reason, null, false, false);
            this.reason = reason;
        }
    }

    /**
     * Hands what came of a call to {@link Outcomes}, which records it with the next submission (or
     * soon after): the grant was redeemed durably before the call was forwarded, so this record is
     * off the call's path. The result's hash is taken here, after the answer has gone.
     */
    private void outcome(RequestId request, Outcome.Status status, JsonNode result, String detail, Instant at) {
        try {
            String sha256 = result == null ? null : CanonicalJson.sha256Hex(result);
            gateway.outcomes()
                    .add(new OutcomeReport(request, session.agent(), new Outcome(status, sha256, detail, at)));
        } catch (RuntimeException e) { // the call ran; a failed record must not hide its result
            LOG.error("could not record the outcome of {}: {}", request, e.getMessage());
        }
    }

    private static String awaiting(Request r) {
        String rules = r.decision() instanceof Decision.RequireApproval ra
                ? " (" + String.join(", ", ra.matchedRules()) + ")"
                : "";
        return "Request " + r.id() + " awaits approval by people" + rules + "; "
                + r.reviews().size() + " approval(s) so far.";
    }

    private static String refusedText(Request r) {
        return switch (r.state()) {
            case DENIED ->
                r.decision() instanceof Decision.Deny d
                        ? "Countersign policy denied this call (request " + r.id() + "): " + d.reason()
                        : "A reviewer denied this call (request " + r.id() + ")" + denyReason(r);
            case EXPIRED -> "Request " + r.id() + " expired before it was approved.";
            case CANCELLED -> "Request " + r.id() + " was cancelled.";
            case REVOKED -> "Request " + r.id() + "'s approval was revoked.";
            default -> "Request " + r.id() + " is " + r.state().wire() + ".";
        };
    }

    private static String denyReason(Request r) {
        return r.reviews().stream()
                .filter(v -> v.verdict() == io.countersign.core.Verdict.DENY
                        && !v.reason().isEmpty())
                .map(v -> ": " + v.reason())
                .findFirst()
                .orElse(".");
    }

    private static ObjectNode result(JsonNode id, String text, boolean isError) {
        return JsonRpc.result(id, JsonRpc.toolResult(text, isError));
    }

    private static ObjectNode progress(JsonNode token, int beat, String message) {
        ObjectNode p = F.objectNode();
        p.set("progressToken", token);
        p.put("progress", beat).put("message", message);
        return JsonRpc.notification("notifications/progress", p);
    }

    /** A call held for approval; the agent's cancellation withdraws its request. */
    final class Held {
        private final RequestId request;
        private volatile boolean cancelled;

        Held(RequestId request) {
            this.request = request;
        }

        RequestId request() {
            return request;
        }

        /**
         * Cancels the request, unless it has been decided since. The held call's wait ends with that
         * change; no interrupt, which could land on the answer being written.
         */
        void cancel() {
            cancelled = true;
            try {
                gateway.service().cancel(request, session.agent());
            } catch (RuntimeException e) {
                LOG.debug("cancelling {}: {}", request, e.getMessage());
            }
        }
    }
}
