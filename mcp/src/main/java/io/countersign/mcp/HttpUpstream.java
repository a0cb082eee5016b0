package io.countersign.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An upstream MCP server behind Streamable HTTP (protocol 2025-11-25): every message is its own POST;
 * a request is answered by one JSON object or by an SSE stream of related messages ending with the
 * response. The session id the upstream assigns at {@code initialize} and the negotiated protocol
 * version go on every later POST, with the configured headers; the agent's own credential never does.
 * A message of the stateless revision (2026-07-28) carries its version in {@code _meta}; it goes in
 * {@code MCP-Protocol-Version}, with the {@code Mcp-Method} and {@code Mcp-Name} headers that revision
 * requires. A POST that cannot connect is retried with backoff (it never reached the upstream, so this
 * is safe even for a tool call); any other failure answers the request with an error.
 *
 * <p>{@link #send} runs the exchange on the caller's thread (a virtual thread that would otherwise
 * only wait for the answer): the response, and any progress before it, is delivered to the listener
 * before {@code send} returns, with no hand-off to another thread (see {@link Http1Client}).
 *
 * <p>The upstream's own stream. Once the session is initialized, a virtual thread holds the
 * upstream's GET stream open and delivers what comes on it (notifications, the upstream's requests)
 * to the listener. When the stream ends or breaks it is opened again, after the {@code retry} time the
 * upstream gave or a growing backoff, with {@code Last-Event-ID} when the upstream numbers its events,
 * so that it can replay what was sent in between; a 405 means the upstream has no such stream, and
 * {@link #STREAM_ATTEMPTS} failures in a row end the attempts. Closing the connection drops it.
 */
final class HttpUpstream implements UpstreamConnection {
    private static final Logger LOG = LoggerFactory.getLogger(HttpUpstream.class);
    private static final int CONNECT_ATTEMPTS = 3;
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** How many times in a row the upstream's GET stream may fail to open before the gateway stops trying. */
    static final int STREAM_ATTEMPTS = 8;
    /** The first wait before the GET stream is opened again, when the upstream gave no {@code retry} time. */
    static final Duration STREAM_RETRY = Duration.ofMillis(500);
    /** The longest wait between attempts to open the GET stream. */
    static final Duration STREAM_RETRY_MAX = Duration.ofSeconds(30);

    private static final String VERSION_META = "io.modelcontextprotocol/protocolVersion";
    /** The methods whose {@code Mcp-Name} header mirrors a params field, and that field (2026-07-28). */
    private static final Map<String, String> NAMED_BY = Map.of(
            "tools/call", "name",
            "prompts/get", "name",
            "resources/read", "uri",
            "tasks/get", "taskId",
            "tasks/update", "taskId",
            "tasks/cancel", "taskId");

    private final McpConfig.Upstream upstream;
    private final Http1Client http;
    private final Listener listener;
    private final Duration timeout;
    private volatile String sessionId;
    private volatile String protocolVersion;
    private volatile boolean open = true;
    private final AtomicBoolean listening = new AtomicBoolean();
    private final CountDownLatch streamAnswered = new CountDownLatch(1);
    private volatile Http1Client.Response stream;
    /** Per tool, the arguments it mirrors into headers, from the last {@code tools/list} answer seen. */
    private final Map<String, List<Mirrored>> mirrored = new ConcurrentHashMap<>();

    HttpUpstream(McpConfig.Upstream upstream, Listener listener, Duration timeout) {
        this.upstream = upstream;
        this.http = new Http1Client(upstream.url(), CONNECT_TIMEOUT, timeout);
        this.listener = listener;
        this.timeout = timeout;
    }

    @Override
    public void send(ObjectNode message) {
        post(message);
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() {
        open = false;
        Http1Client.Response s = stream;
        if (s != null) s.abort();
        try {
            if (sessionId != null) http.send("DELETE", headers(false), null).close();
        } catch (IOException e) {
            LOG.debug("MCP server {}: ending the session failed: {}", upstream.name(), e.getMessage());
        } finally {
            http.close();
        }
    }

    private void post(ObjectNode message) {
        boolean accepted = exchange(message);
        if (accepted && "notifications/initialized".equals(JsonRpc.method(message))) listen();
    }

    /** One POST; false if the upstream did not take the message (its error, if a request, is delivered). */
    private boolean exchange(ObjectNode message) {
        boolean isRequest = JsonRpc.kind(message) == JsonRpc.Kind.REQUEST;
        boolean isInitialize = isRequest && "initialize".equals(JsonRpc.method(message));
        byte[] body = JsonRpc.bytes(message);
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Http1Client.Response r = sendWithRetry(headers(message), body)) {
            if (isInitialize && r.header("Mcp-Session-Id") != null) sessionId = r.header("Mcp-Session-Id");
            int status = r.status();
            if (status == 202 || (!isRequest && status / 100 == 2)) return true; // no body wanted: closing reads it
            if (status == 404 && sessionId != null && !isInitialize) {
                open = false;
                answer(message, "the MCP server " + upstream.name() + " ended its session");
                listener.closed("the MCP server " + upstream.name() + " ended its session");
                return false;
            }
            if (status / 100 != 2) {
                if (!isRequest || !deliveredError(r, message))
                    answer(message, "the MCP server " + upstream.name() + " answered HTTP " + status);
                return false;
            }
            boolean[] answered = {!isRequest};
            String type = r.header("Content-Type");
            if (type != null && type.startsWith("text/event-stream"))
                Sse.read(
                        r.body(),
                        m -> {
                            deliver(m);
                            if (answers(m, message)) {
                                answered[0] = true;
                                learn(message, m);
                            }
                            return !answered[0]; // the rest of the stream is not the caller's
                        },
                        deadline);
            else {
                JsonNode m = JsonRpc.parse(r.body().readAllBytes());
                deliver(m);
                if (m instanceof ObjectNode o && answers(o, message)) {
                    answered[0] = true;
                    learn(message, o);
                }
            }
            if (!answered[0])
                answer(message, "the MCP server " + upstream.name() + " ended its answer without a response");
            return true;
        } catch (SocketTimeoutException e) {
            answer(
                    message,
                    "the MCP server " + upstream.name() + " did not answer " + JsonRpc.method(message) + " within "
                            + timeout.toSeconds() + "s");
        } catch (IOException | JsonRpc.MalformedMessageException e) {
            answer(
                    message,
                    "the MCP server " + upstream.name() + " is unreachable: "
                            + e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            answer(message, "interrupted");
        }
        return false;
    }

    /**
     * Delivers the JSON-RPC error an upstream sent with an HTTP error status (the stateless revision
     * answers an unsupported version or a malformed envelope so), if it is the answer to {@code request}.
     */
    private boolean deliveredError(Http1Client.Response r, ObjectNode request) throws IOException {
        String type = r.header("Content-Type");
        if (type == null || !type.startsWith("application/json")) return false;
        JsonNode m;
        try {
            m = JsonRpc.parse(r.body().readAllBytes());
        } catch (JsonRpc.MalformedMessageException e) {
            return false;
        }
        if (!(m instanceof ObjectNode o) || !o.has("error") || !answers(o, request)) return false;
        listener.received(o);
        return true;
    }

    private Http1Client.Response sendWithRetry(Map<String, String> headers, byte[] body)
            throws IOException, InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                return http.send("POST", headers, body);
            } catch (ConnectException e) {
                if (attempt == CONNECT_ATTEMPTS) throw e;
                LOG.info("MCP server {}: cannot connect (attempt {}), retrying", upstream.name(), attempt);
                Thread.sleep(100L << (2 * attempt));
            }
        }
    }

    /** A POST's headers: the session's, or for a message of the stateless revision, those it requires. */
    private Map<String, String> headers(ObjectNode message) {
        Map<String, String> h = headers(false);
        h.put("Content-Type", "application/json");
        h.put("Accept", "application/json, text/event-stream");
        JsonNode version = message.path("params").path("_meta").get(VERSION_META);
        if (version == null || !version.isTextual() || !message.has("method")) return h;
        h.put("MCP-Protocol-Version", version.asText());
        String method = JsonRpc.method(message);
        h.put("Mcp-Method", headerValue(method));
        String field = NAMED_BY.get(method);
        JsonNode name = field == null ? null : message.path("params").get(field);
        if (name != null && name.isTextual()) h.put("Mcp-Name", headerValue(name.asText()));
        if ("tools/call".equals(method) && name != null) {
            JsonNode args = message.path("params").path("arguments");
            for (Mirrored p : mirrored.getOrDefault(name.asText(), List.of())) {
                JsonNode v = args;
                for (String key : p.path()) v = v.path(key);
                if (v.isValueNode() && !v.isNull()) h.put("Mcp-Param-" + p.header(), headerValue(v.asText()));
            }
        }
        return h;
    }

    /** An argument of a tool that its definition asks to be mirrored into {@code Mcp-Param-{header}}. */
    private record Mirrored(List<String> path, String header) {}

    /**
     * Learns from a {@code tools/list} answer which arguments each tool mirrors into headers (the
     * stateless revision's {@code x-mcp-header}, on properties reached through {@code properties}
     * alone): an upstream refuses a call that lacks them.
     */
    private void learn(ObjectNode request, ObjectNode answer) {
        if (!"tools/list".equals(JsonRpc.method(request))) return;
        for (JsonNode tool : answer.path("result").path("tools")) {
            List<Mirrored> found = new ArrayList<>();
            mirrors(tool.path("inputSchema"), List.of(), found);
            String name = tool.path("name").asText("");
            if (found.isEmpty()) mirrored.remove(name);
            else mirrored.put(name, List.copyOf(found));
        }
    }

    private static void mirrors(JsonNode schema, List<String> path, List<Mirrored> found) {
        JsonNode header = schema.get("x-mcp-header");
        if (!path.isEmpty() && header != null && header.isTextual()) found.add(new Mirrored(path, header.asText()));
        schema.path("properties").properties().forEach(p -> {
            List<String> deeper = new ArrayList<>(path);
            deeper.add(p.getKey());
            mirrors(p.getValue(), List.copyOf(deeper), found);
        });
    }

    /** The session's headers: the configured ones, the session id, the negotiated version. */
    private Map<String, String> headers(boolean stream) {
        Map<String, String> h = new LinkedHashMap<>(upstream.headers());
        if (stream) h.put("Accept", "text/event-stream");
        if (sessionId != null) h.put("Mcp-Session-Id", sessionId);
        if (protocolVersion != null) h.put("MCP-Protocol-Version", protocolVersion);
        return h;
    }

    /**
     * A value as an MCP header carries it (2026-07-28): as it is if it is visible ASCII with no
     * surrounding space, else (or if it looks like the sentinel) {@code =?base64?...?=} of its UTF-8.
     */
    static String headerValue(String value) {
        boolean plain = value.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)
                && value.strip().equals(value)
                && !(value.startsWith("=?base64?") && value.endsWith("?="));
        return plain
                ? value
                : "=?base64?" + Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8)) + "?=";
    }

    /**
     * Starts relaying the upstream's own stream, once per session, and waits (a while) until the
     * upstream has answered the GET: what it sends just after initialization is then not lost.
     */
    private void listen() {
        if (sessionId == null || !listening.compareAndSet(false, true)) return;
        Thread.ofVirtual().name("mcp-" + upstream.name() + "-stream").start(this::relayStream);
        try {
            if (!streamAnswered.await(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS))
                LOG.info("MCP server {}: its stream did not open within {}", upstream.name(), CONNECT_TIMEOUT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** How an attempt at the GET stream ended. */
    private enum StreamEnd {
        /** The upstream has no stream for this session (405, 404), or the connection is closed: stop. */
        NONE,
        /** It was open and ended or broke: open it again. */
        DROPPED,
        /** It could not be opened: try again, later each time. */
        FAILED
    }

    private void relayStream() {
        try {
            relayStreamUntilEnd();
        } finally {
            streamAnswered.countDown();
        }
    }

    private void relayStreamUntilEnd() {
        Sse.Cursor cursor = new Sse.Cursor();
        int failures = 0;
        while (open) {
            StreamEnd end = streamOnce(cursor);
            if (end == StreamEnd.NONE || !open) return;
            failures = end == StreamEnd.DROPPED ? 0 : failures + 1;
            if (failures == STREAM_ATTEMPTS) {
                LOG.warn(
                        "MCP server {}: its stream failed to open {} times; its own messages are no longer relayed",
                        upstream.name(),
                        failures);
                return;
            }
            long base = cursor.retryMillis() >= 0 ? cursor.retryMillis() : STREAM_RETRY.toMillis();
            try {
                Thread.sleep(Math.min(STREAM_RETRY_MAX.toMillis(), base << failures));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Opens the upstream's GET stream (resuming after the last event it numbered) and relays it until it ends. */
    private StreamEnd streamOnce(Sse.Cursor cursor) {
        Map<String, String> h = headers(true);
        if (cursor.lastEventId() != null) h.put("Last-Event-ID", cursor.lastEventId());
        Http1Client.Response r = null;
        try {
            r = http.send("GET", h, null);
            stream = r;
            streamAnswered.countDown();
            if (!open) return StreamEnd.NONE;
            return relay(r, cursor);
        } catch (IOException | JsonRpc.MalformedMessageException e) {
            if (!open) return StreamEnd.NONE;
            LOG.debug("MCP server {}: its stream broke: {}", upstream.name(), e.toString());
            return r != null && r.status() / 100 == 2 ? StreamEnd.DROPPED : StreamEnd.FAILED;
        } finally {
            stream = null;
            // Never reused: the upstream would see a second stream while this one drains.
            if (r != null) r.abort();
        }
    }

    private StreamEnd relay(Http1Client.Response r, Sse.Cursor cursor) throws IOException {
        int status = r.status();
        String type = r.header("Content-Type");
        if (status == 405 || status == 404) {
            LOG.debug("MCP server {}: no stream of its own for this session (HTTP {})", upstream.name(), status);
            return StreamEnd.NONE;
        }
        if (status / 100 != 2 || type == null || !type.startsWith("text/event-stream")) {
            LOG.info("MCP server {}: its stream did not open (HTTP {})", upstream.name(), status);
            return StreamEnd.FAILED;
        }
        Sse.read(
                r.body(),
                m -> {
                    if (open) deliver(m);
                    return open;
                },
                Sse.NO_DEADLINE,
                cursor);
        return StreamEnd.DROPPED;
    }

    private void deliver(JsonNode m) {
        if (!(m instanceof ObjectNode o)) return;
        if (o.path("result").has("protocolVersion") && o.path("result").has("serverInfo"))
            protocolVersion = o.path("result").path("protocolVersion").asText();
        listener.received(o);
    }

    /** Whether {@code m} is the response to {@code request}: then its stream has nothing more for the caller. */
    private static boolean answers(ObjectNode m, ObjectNode request) {
        if (JsonRpc.kind(request) != JsonRpc.Kind.REQUEST || JsonRpc.kind(m) != JsonRpc.Kind.RESPONSE) return false;
        JsonNode sent = request.get("id");
        JsonNode got = m.get("id");
        return sent.isIntegralNumber() // 7 parsed back is an int node, sent it may be a long one
                ? got.isIntegralNumber() && sent.asLong() == got.asLong()
                : sent.equals(got);
    }

    private void answer(ObjectNode message, String why) {
        if (JsonRpc.kind(message) != JsonRpc.Kind.REQUEST) {
            LOG.warn("{} (a notification was lost)", why);
            return;
        }
        listener.received(JsonRpc.error(message.get("id"), JsonRpc.UPSTREAM_ERROR, why));
    }
}
