package io.countersign.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Principal;
import io.countersign.core.RequestId;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent's session through the gateway, bound to one session with the upstream MCP server.
 *
 * <p>Design notes. Every message from the agent is relayed unchanged except: {@code tools/call}
 * (which becomes an action request, see {@link ToolCalls}), {@code tools/list} (filtered and checked
 * against the pins), {@code notifications/cancelled} (which also cancels a held call), and a request
 * sent without an id, which is dropped: only {@code notifications/} methods are relayed as
 * notifications, so that no {@code tools/call} reaches the upstream past policy and ledger. Request ids
 * are renumbered toward the upstream, so that the gateway's own requests (a tools/list before a call,
 * the handshake replayed after a restart) can never collide with the agent's; responses get the
 * agent's id back. Progress notifications go to the stream of the request whose progress token they
 * carry; other upstream messages (on a request's stream, or on the upstream's own stream) go to the
 * session's stream, and wait there (the last {@link #UNDELIVERED_MAX}) while the agent has none open.
 * If the upstream dies or hangs, every request in flight gets an error and the next request starts it
 * again, replaying the agent's {@code initialize}.
 *
 * <p>A stateless session (revision 2026-07-28) lives for one request: the gateway's own requests
 * carry the agent's {@code _meta} envelope (protocol version, capabilities, client info), and results
 * the gateway makes itself say {@code "resultType": "complete"} as that revision's results do.
 */
public final class GatewaySession implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GatewaySession.class);
    /** How many messages for the session's stream are kept while the agent has no stream open. */
    static final int UNDELIVERED_MAX = 64;

    private static final String ENVELOPE_PREFIX = "io.modelcontextprotocol/";

    private final String id;
    private final McpGateway gateway;
    private final McpConfig.Upstream upstream;
    private final Principal agent;
    private final boolean stateless;
    private final AtomicLong nextId = new AtomicLong(1);
    private final Map<Long, CompletableFuture<ObjectNode>> inFlight = new ConcurrentHashMap<>();
    // By the agent's id and progress token as JSON values: the string "1" and the number 1 differ.
    private final Map<JsonNode, Outbound> progress = new ConcurrentHashMap<>();
    private final Map<JsonNode, ToolCalls.Held> held = new ConcurrentHashMap<>();
    private final Map<JsonNode, Long> relayed = new ConcurrentHashMap<>();
    private final ToolCalls toolCalls;
    private final Deque<ObjectNode> undelivered = new ArrayDeque<>(); // guarded by itself, with general
    private volatile Outbound general = Outbound.NOWHERE;
    private volatile ObjectNode envelope;
    private volatile UpstreamConnection connection;
    /** How many connections to the upstream this session has made: a new one may be another program. */
    private volatile long generation;

    private volatile ObjectNode initializeParams;
    private volatile long lastUsed = System.nanoTime();
    private volatile boolean closed;

    GatewaySession(String id, McpGateway gateway, McpConfig.Upstream upstream, Principal agent, boolean stateless) {
        this.id = id;
        this.gateway = gateway;
        this.upstream = upstream;
        this.agent = agent;
        this.stateless = stateless;
        this.toolCalls = new ToolCalls(gateway, this);
    }

    public String id() {
        return id;
    }

    public Principal agent() {
        return agent;
    }

    public McpConfig.Upstream upstream() {
        return upstream;
    }

    /**
     * Where messages that belong to no request go (the agent's GET stream on HTTP); those kept while
     * there was none go there first.
     */
    public void generalStream(Outbound out) {
        synchronized (undelivered) {
            general = out == null ? Outbound.NOWHERE : out;
            for (ObjectNode m = undelivered.pollFirst(); out != null && m != null; m = undelivered.pollFirst())
                out.send(m);
        }
    }

    /** A message that belongs to no request: to the session's stream, or kept until the agent opens one. */
    private void toSessionStream(ObjectNode m) {
        synchronized (undelivered) {
            if (general != Outbound.NOWHERE) {
                general.send(m);
                return;
            }
            if (undelivered.size() == UNDELIVERED_MAX) undelivered.pollFirst();
            undelivered.addLast(m);
        }
    }

    long idleNanos() {
        return System.nanoTime() - lastUsed;
    }

    /**
     * Handles one message from the agent. A request blocks the calling (virtual) thread until its
     * response has been sent to {@code reply}; notifications for it go to {@code reply} first; what
     * came of a tool call is handed on for recording only after that.
     */
    public void handle(JsonNode message, Outbound reply) {
        lastUsed = System.nanoTime();
        JsonNode msgId = message.get("id");
        switch (JsonRpc.kind(message)) {
            case INVALID ->
                reply.send(JsonRpc.error(
                        msgId != null && (msgId.isTextual() || msgId.isIntegralNumber()) ? msgId : null,
                        JsonRpc.INVALID_REQUEST,
                        "not a JSON-RPC 2.0 request, notification or response"));
            case RESPONSE -> connection().send((ObjectNode) message); // the agent answers the upstream
            case NOTIFICATION -> notification((ObjectNode) message);
            case REQUEST -> {
                List<Runnable> afterReply = new ArrayList<>(1);
                try {
                    if (stateless) envelope = envelope(message);
                    ObjectNode response = request((ObjectNode) message, reply, afterReply);
                    if (stateless) complete(response);
                    reply.send(response);
                } finally {
                    afterReply.forEach(Runnable::run);
                }
            }
        }
    }

    /** Answers a request; what must not delay the answer (a tool call's outcome) goes to {@code afterReply}. */
    private ObjectNode request(ObjectNode m, Outbound reply, List<Runnable> afterReply) {
        JsonNode agentId = m.get("id");
        try {
            return switch (JsonRpc.method(m)) {
                case "initialize" -> {
                    ObjectNode response = call(m, reply);
                    // Kept for a restarted upstream only once this first handshake has succeeded.
                    if (response.has("result"))
                        initializeParams = JsonRpc.params(m).deepCopy();
                    yield response;
                }
                case "tools/call" -> toolCalls.call(m, reply, afterReply);
                case "tools/list" -> toolCalls.list(m, reply);
                default -> call(m, reply);
            };
        } catch (UpstreamException e) {
            return JsonRpc.error(agentId, JsonRpc.UPSTREAM_ERROR, e.getMessage());
        } catch (InvalidParamsException e) {
            return JsonRpc.error(agentId, JsonRpc.INVALID_PARAMS, e.getMessage());
        } catch (RuntimeException e) { // storage or ledger: fail closed, nothing was forwarded unrecorded
            LOG.error("MCP {} of {} failed: {}", JsonRpc.method(m), agent == null ? "?" : agent.id(), e.toString());
            return JsonRpc.error(
                    agentId,
                    JsonRpc.INTERNAL_ERROR,
                    "Countersign could not record this request, so nothing ran; see the server log");
        }
    }

    private void notification(ObjectNode m) {
        String method = JsonRpc.method(m);
        if (!method.startsWith("notifications/")) {
            // A notification gets no answer (MCP 2025-11-25), not even an error: dropped, and quoted
            // as JSON in the log, since the agent chose the text.
            LOG.debug("dropped {}: a request without an id", m.get("method"));
            return;
        }
        if ("notifications/cancelled".equals(method)) {
            JsonNode which = JsonRpc.params(m).path("requestId");
            ToolCalls.Held h = held.get(which);
            if (h != null) h.cancel();
            Long upstreamId = relayed.get(which);
            if (upstreamId == null) return;
            ObjectNode out = m.deepCopy();
            ((ObjectNode) out.get("params")).put("requestId", upstreamId);
            connection().send(out);
            return;
        }
        connection().send(m);
    }

    /**
     * Relays one request to the upstream and waits for its response, which carries the agent's id.
     * Throws {@link UpstreamException} if the upstream fails or does not answer in time.
     */
    ObjectNode call(ObjectNode m, Outbound reply) {
        return relay(m, reply, ANY).response();
    }

    /** How many connections to the upstream this session has made so far. */
    long generation() {
        return generation;
    }

    /** Any connection will do: for {@link #relay}. */
    static final long ANY = -1;

    /** A response, and the connection (by its {@link #generation}) that gave it. */
    record Answered(ObjectNode response, long generation) {}

    /**
     * As {@link #call}, but only on the connection of generation {@code expected} (unless {@link #ANY}):
     * when the upstream has been started again since, it throws {@link RestartedException} and sends
     * nothing, since the program now answering may not be the one whose tools were checked.
     */
    Answered relay(ObjectNode m, Outbound reply, long expected) {
        JsonNode agentId = m.get("id");
        long upstreamId = nextId.getAndIncrement();
        ObjectNode out = JsonRpc.MAPPER.getNodeFactory().objectNode();
        out.setAll(m); // a shallow copy: only the id differs, and nothing here changes the params
        out.put("id", upstreamId);
        JsonNode token = progressToken(m);
        CompletableFuture<ObjectNode> answer = new CompletableFuture<>();
        inFlight.put(upstreamId, answer);
        if (token != null) progress.put(token, reply);
        relayed.put(agentId, upstreamId);
        try {
            UpstreamConnection c;
            long used;
            synchronized (this) {
                c = connection();
                used = generation;
            }
            if (expected != ANY && used != expected) throw new RestartedException();
            c.send(out);
            ObjectNode response = await(answer, JsonRpc.method(m), upstreamId);
            response.set("id", agentId);
            return new Answered(response, used);
        } finally {
            inFlight.remove(upstreamId);
            relayed.remove(agentId);
            if (token != null) progress.remove(token);
        }
    }

    /** A request of the gateway's own (a tools/list before a call); never seen by the agent. */
    ObjectNode callOwn(String method, ObjectNode params) {
        return relayOwn(method, params).response();
    }

    /** As {@link #callOwn}, with the connection that answered. */
    Answered relayOwn(String method, ObjectNode params) {
        ObjectNode e = envelope;
        if (stateless && e != null) {
            ObjectNode meta = params.get("_meta") instanceof ObjectNode o ? o : params.putObject("_meta");
            e.properties().forEach(p -> {
                if (!meta.has(p.getKey())) meta.set(p.getKey(), p.getValue());
            });
        }
        return relay(
                JsonRpc.request(
                        JsonRpc.MAPPER.getNodeFactory().textNode("countersign-" + nextId.get()), method, params),
                Outbound.NOWHERE,
                ANY);
    }

    void holding(JsonNode agentId, ToolCalls.Held h) {
        if (h == null) held.remove(agentId);
        else held.put(agentId, h);
    }

    private ObjectNode await(CompletableFuture<ObjectNode> answer, String method, long upstreamId) {
        Duration timeout = gateway.config().requestTimeout();
        try {
            return answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.warn("MCP server {} did not answer {} within {}; restarting it", upstream.name(), method, timeout);
            restart();
            throw new UpstreamException("the MCP server " + upstream.name() + " did not answer " + method + " within "
                    + timeout.toSeconds() + "s; it is being restarted");
        } catch (ExecutionException e) {
            throw new UpstreamException(e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UpstreamException("interrupted while waiting for " + upstream.name());
        }
    }

    /** The live connection, started (and the agent's handshake replayed) if it is not. */
    private synchronized UpstreamConnection connection() {
        if (closed) throw new UpstreamException("the session has ended");
        UpstreamConnection c = connection;
        if (c != null && c.isOpen()) return c;
        Inbound inbound = new Inbound();
        c = gateway.connect(upstream, inbound);
        inbound.connection = c;
        connection = c;
        generation++;
        if (c != null && initializeParams != null && !stateless) replayHandshake(c);
        return c;
    }

    private void replayHandshake(UpstreamConnection c) {
        LOG.warn("MCP server {} restarted for session {}; replaying the agent's initialize", upstream.name(), id);
        long hid = nextId.getAndIncrement();
        CompletableFuture<ObjectNode> answer = new CompletableFuture<>();
        inFlight.put(hid, answer);
        try {
            c.send(JsonRpc.request(
                    JsonRpc.MAPPER.getNodeFactory().numberNode(hid), "initialize", initializeParams.deepCopy()));
            ObjectNode r = await(answer, "initialize", hid);
            if (r.has("error"))
                throw new UpstreamException("the restarted MCP server " + upstream.name() + " refused the handshake: "
                        + r.path("error").path("message").asText());
            c.send(JsonRpc.notification("notifications/initialized", null));
        } finally {
            inFlight.remove(hid);
        }
    }

    /** Ends a hung upstream: every request in flight fails now; the next request starts it again. */
    private synchronized void restart() {
        UpstreamConnection c = connection;
        connection = null;
        if (c == null) return;
        if (c instanceof StdioUpstream s) s.kill();
        else c.close();
        failAll("the MCP server " + upstream.name() + " stopped answering and was restarted");
    }

    private void failAll(String why) {
        for (var e : inFlight.entrySet()) {
            e.getValue().completeExceptionally(new UpstreamException(why));
        }
    }

    @Override
    public void close() {
        closed = true;
        held.values().forEach(ToolCalls.Held::cancel);
        UpstreamConnection c;
        synchronized (this) {
            c = connection;
            connection = null;
        }
        if (c != null) c.close();
        failAll("the session has ended");
    }

    /** The request's {@code io.modelcontextprotocol/} keys of {@code _meta}: what every request of the stateless revision carries. */
    private static ObjectNode envelope(JsonNode m) {
        ObjectNode e = JsonRpc.MAPPER.getNodeFactory().objectNode();
        m.path("params").path("_meta").properties().forEach(p -> {
            if (p.getKey().startsWith(ENVELOPE_PREFIX)) e.set(p.getKey(), p.getValue());
        });
        return e;
    }

    /** Marks a result of the stateless revision that has no {@code resultType} (one the gateway made) as complete. */
    private static void complete(ObjectNode response) {
        if (response.get("result") instanceof ObjectNode r && !r.has("resultType")) r.put("resultType", "complete");
    }

    private static JsonNode progressToken(JsonNode m) {
        JsonNode t = m.path("params").path("_meta").get("progressToken");
        return t == null || t.isNull() ? null : t;
    }

    /** What the upstream sends. */
    private final class Inbound implements UpstreamConnection.Listener {
        private volatile UpstreamConnection connection;

        @Override
        public void received(ObjectNode m) {
            if (gateway.config().logPayloads()) LOG.debug("MCP server {} → {}", upstream.name(), m);
            switch (JsonRpc.kind(m)) {
                case RESPONSE -> {
                    CompletableFuture<ObjectNode> f = m.get("id").canConvertToLong()
                            ? inFlight.get(m.get("id").asLong())
                            : null;
                    if (f != null) f.complete(m);
                }
                case NOTIFICATION -> {
                    String method = JsonRpc.method(m);
                    if (method.equals("notifications/tools/list_changed")) toolCalls.forgetTools();
                    Outbound to = method.equals("notifications/progress")
                            ? progress.get(JsonRpc.params(m).path("progressToken"))
                            : null;
                    if (to != null) to.send(m);
                    else toSessionStream(m);
                }
                case REQUEST -> toSessionStream(m); // sampling, elicitation, roots: the agent answers
                case INVALID -> LOG.warn("MCP server {} sent a message that is not JSON-RPC; ignored", upstream.name());
            }
        }

        @Override
        public void closed(String why) {
            // A connection replaced by a restart has had its requests failed already.
            if (connection != null && connection != GatewaySession.this.connection) return;
            LOG.warn("{} (session {})", why, id);
            failAll(why);
        }
    }

    /** The upstream failed, hung or is unreachable: the agent gets a JSON-RPC error that says so. */
    static final class UpstreamException extends RuntimeException {
        UpstreamException(String message) {
            super(message, null, false, false);
        }
    }

    /** The upstream was started again after the caller checked it: nothing was sent. */
    static final class RestartedException extends RuntimeException {
        RestartedException() {
            super("the MCP server was restarted", null, false, false);
        }
    }

    /** The agent's params are not what the method takes. */
    static final class InvalidParamsException extends RuntimeException {
        InvalidParamsException(String message) {
            super(message, null, false, false);
        }
    }

    /** For {@link ToolCalls}: a held call's request, by the agent's id. */
    RequestId heldRequest(JsonNode agentId) {
        ToolCalls.Held h = held.get(agentId);
        return h == null ? null : h.request();
    }
}
