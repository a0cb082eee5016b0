package io.countersign.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An upstream MCP server behind Streamable HTTP (protocol 2025-11-25): every message is its own POST;
 * a request is answered by one JSON object or by an SSE stream of related messages ending with the
 * response. The session id the upstream assigns at {@code initialize} and the negotiated protocol
 * version go on every later POST, with the configured headers; the agent's own credential never does.
 * A POST that cannot connect is retried with backoff (it never reached the upstream, so this is safe
 * even for a tool call); any other failure answers the request with an error.
 *
 * <p>{@link #send} runs the exchange on the caller's thread (a virtual thread that would otherwise
 * only wait for the answer): the response, and any progress before it, is delivered to the listener
 * before {@code send} returns, with no hand-off to another thread (see {@link Http1Client}).
 */
final class HttpUpstream implements UpstreamConnection {
    private static final Logger LOG = LoggerFactory.getLogger(HttpUpstream.class);
    private static final int CONNECT_ATTEMPTS = 3;
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

    private final McpConfig.Upstream upstream;
    private final Http1Client http;
    private final Listener listener;
    private final Duration timeout;
    private volatile String sessionId;
    private volatile String protocolVersion;
    private volatile boolean open = true;

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
        try {
            if (sessionId != null) http.send("DELETE", headers(false), null).close();
        } catch (IOException e) {
            LOG.debug("MCP server {}: ending the session failed: {}", upstream.name(), e.getMessage());
        } finally {
            http.close();
        }
    }

    private void post(ObjectNode message) {
        boolean isRequest = JsonRpc.kind(message) == JsonRpc.Kind.REQUEST;
        boolean isInitialize = isRequest && "initialize".equals(JsonRpc.method(message));
        byte[] body = JsonRpc.bytes(message);
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Http1Client.Response r = sendWithRetry(body)) {
            if (isInitialize && r.header("Mcp-Session-Id") != null) sessionId = r.header("Mcp-Session-Id");
            int status = r.status();
            if (status == 202 || (!isRequest && status / 100 == 2)) return; // no body wanted: closing reads it
            if (status == 404 && sessionId != null && !isInitialize) {
                open = false;
                answer(message, "the MCP server " + upstream.name() + " ended its session");
                listener.closed("the MCP server " + upstream.name() + " ended its session");
                return;
            }
            if (status / 100 != 2) {
                answer(message, "the MCP server " + upstream.name() + " answered HTTP " + status);
                return;
            }
            boolean[] answered = {!isRequest};
            String type = r.header("Content-Type");
            if (type != null && type.startsWith("text/event-stream"))
                Sse.read(
                        r.body(),
                        m -> {
                            deliver(m);
                            answered[0] |= answers(m, message);
                            return !answered[0]; // the rest of the stream is not the caller's
                        },
                        deadline);
            else {
                JsonNode m = JsonRpc.parse(r.body().readAllBytes());
                deliver(m);
                answered[0] |= m instanceof ObjectNode o && answers(o, message);
            }
            if (!answered[0])
                answer(message, "the MCP server " + upstream.name() + " ended its answer without a response");
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
    }

    private Http1Client.Response sendWithRetry(byte[] body) throws IOException, InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                return http.send("POST", headers(true), body);
            } catch (ConnectException e) {
                if (attempt == CONNECT_ATTEMPTS) throw e;
                LOG.info("MCP server {}: cannot connect (attempt {}), retrying", upstream.name(), attempt);
                Thread.sleep(100L << (2 * attempt));
            }
        }
    }

    private Map<String, String> headers(boolean post) {
        Map<String, String> h = new LinkedHashMap<>(upstream.headers());
        if (post) {
            h.put("Content-Type", "application/json");
            h.put("Accept", "application/json, text/event-stream");
        }
        if (sessionId != null) h.put("Mcp-Session-Id", sessionId);
        if (protocolVersion != null) h.put("MCP-Protocol-Version", protocolVersion);
        return h;
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
