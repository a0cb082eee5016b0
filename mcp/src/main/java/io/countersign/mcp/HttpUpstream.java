package io.countersign.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An upstream MCP server behind Streamable HTTP (protocol 2025-11-25): every message is its own POST;
 * a request is answered by one JSON object or by an SSE stream of related messages ending with the
 * response. The session id the upstream assigns at {@code initialize} and the negotiated protocol
 * version go on every later POST, with the configured headers; the agent's own credential never does.
 * A POST that cannot connect is retried with backoff (it never reached the upstream, so this is safe
 * even for a tool call); any other failure answers the request with an error.
 */
final class HttpUpstream implements UpstreamConnection {
    private static final Logger LOG = LoggerFactory.getLogger(HttpUpstream.class);
    private static final int CONNECT_ATTEMPTS = 3;

    private final McpConfig.Upstream upstream;
    private final HttpClient http;
    private final Listener listener;
    private final Duration timeout;
    private volatile String sessionId;
    private volatile String protocolVersion;
    private volatile boolean open = true;

    HttpUpstream(McpConfig.Upstream upstream, HttpClient http, Listener listener, Duration timeout) {
        this.upstream = upstream;
        this.http = http;
        this.listener = listener;
        this.timeout = timeout;
    }

    @Override
    public void send(ObjectNode message) {
        Thread.ofVirtual().name("mcp-" + upstream.name() + "-post").start(() -> post(message));
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() {
        open = false;
        String session = sessionId;
        if (session == null) return;
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(upstream.url())
                    .timeout(Duration.ofSeconds(5))
                    .DELETE();
            headers(b);
            http.send(b.build(), HttpResponse.BodyHandlers.discarding());
        } catch (IOException e) {
            LOG.debug("MCP server {}: ending the session failed: {}", upstream.name(), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void post(ObjectNode message) {
        boolean isRequest = JsonRpc.kind(message) == JsonRpc.Kind.REQUEST;
        boolean isInitialize = isRequest && "initialize".equals(JsonRpc.method(message));
        HttpRequest.Builder b = HttpRequest.newBuilder(upstream.url())
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(JsonRpc.write(message)));
        headers(b);
        try {
            HttpResponse<InputStream> r = sendWithRetry(b.build());
            try (InputStream body = r.body()) {
                if (isInitialize) r.headers().firstValue("Mcp-Session-Id").ifPresent(s -> sessionId = s);
                int status = r.statusCode();
                if (status == 202 || (!isRequest && status / 100 == 2)) return;
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
                String type = r.headers().firstValue("Content-Type").orElse("");
                if (type.startsWith("text/event-stream")) Sse.read(body, this::deliver);
                else deliver(JsonRpc.parse(new String(body.readAllBytes(), StandardCharsets.UTF_8)));
            }
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

    private HttpResponse<InputStream> sendWithRetry(HttpRequest request) throws IOException, InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            } catch (ConnectException e) {
                if (attempt == CONNECT_ATTEMPTS) throw e;
                LOG.info("MCP server {}: cannot connect (attempt {}), retrying", upstream.name(), attempt);
                Thread.sleep(100L << (2 * attempt));
            }
        }
    }

    private void headers(HttpRequest.Builder b) {
        upstream.headers().forEach(b::header);
        if (sessionId != null) b.header("Mcp-Session-Id", sessionId);
        if (protocolVersion != null) b.header("MCP-Protocol-Version", protocolVersion);
    }

    private void deliver(JsonNode m) {
        if (!(m instanceof ObjectNode o)) return;
        if (o.path("result").has("protocolVersion") && o.path("result").has("serverInfo"))
            protocolVersion = o.path("result").path("protocolVersion").asText();
        listener.received(o);
    }

    private void answer(ObjectNode message, String why) {
        if (JsonRpc.kind(message) != JsonRpc.Kind.REQUEST) {
            LOG.warn("{} (a notification was lost)", why);
            return;
        }
        listener.received(JsonRpc.error(message.get("id"), JsonRpc.UPSTREAM_ERROR, why));
    }
}
