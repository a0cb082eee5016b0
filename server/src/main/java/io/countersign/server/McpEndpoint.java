package io.countersign.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Principal;
import io.countersign.mcp.GatewaySession;
import io.countersign.mcp.JsonRpc;
import io.countersign.mcp.McpConfig;
import io.countersign.mcp.McpGateway;
import io.countersign.mcp.Outbound;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MCP gateway over Streamable HTTP (protocol 2025-11-25) at {@code /mcp/{upstream}}: POST a
 * message, GET the session's stream, DELETE to end the session. The agent authenticates with its
 * Countersign credential; that credential stays here and never reaches an upstream.
 *
 * <p>A request's answer is one JSON object, unless something for it (a progress notification)
 * comes first: then the answer is an SSE stream of those messages ending with the response. Requests
 * of the stateless revision (2026-07-28, no session; the version in {@code MCP-Protocol-Version} or in
 * the message's {@code _meta}) are relayed where the upstream accepts them, or refused with the
 * specification's unsupported-version error. The session's stream (GET) carries what the upstream
 * sends outside any request, its own stream included. Transport errors are JSON-RPC errors
 * with the HTTP status the specification gives: 400 for a malformed message or a missing session id,
 * 404 for an unknown session, 403 for a foreign {@code Origin}.
 */
final class McpEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(McpEndpoint.class);
    private static final HeaderName SESSION = HeaderNames.create("Mcp-Session-Id");
    private static final HeaderName VERSION = HeaderNames.create("MCP-Protocol-Version");
    private static final long KEEPALIVE_SECONDS = 15;

    private final McpGateway gateway;
    private final Authenticator auth;
    private final List<String> allowedOrigins;

    McpEndpoint(McpGateway gateway, Authenticator auth, List<String> allowedOrigins) {
        this.gateway = gateway;
        this.auth = auth;
        this.allowedOrigins = List.copyOf(allowedOrigins);
    }

    void routes(HttpRules rules) {
        rules.post("/mcp/{upstream}", this::post)
                .get("/mcp/{upstream}", this::stream)
                .delete("/mcp/{upstream}", this::end);
    }

    private void post(ServerRequest req, ServerResponse res) {
        McpConfig.Upstream upstream = upstream(req);
        Principal agent = agent(req);
        JsonNode message;
        try {
            message = JsonRpc.parseFromAgent(Bodies.bytes(req));
        } catch (JsonRpc.MalformedMessageException e) {
            throw rpcError(400, null, JsonRpc.PARSE_ERROR, "Parse error: " + e.getMessage());
        }
        if (message.isArray())
            throw rpcError(400, null, JsonRpc.INVALID_REQUEST, "JSON-RPC batches are not part of MCP 2025-11-25");
        JsonRpc.Kind kind = JsonRpc.kind(message);
        JsonNode id = kind == JsonRpc.Kind.REQUEST ? message.get("id") : null;
        if (kind == JsonRpc.Kind.INVALID)
            throw rpcError(400, null, JsonRpc.INVALID_REQUEST, "not a JSON-RPC 2.0 request, notification or response");
        String sessionId = req.headers().first(SESSION).orElse(null);
        String version = req.headers().first(VERSION).orElse(null);

        if (sessionId == null && isStateless(message, version)) {
            HttpReply reply = new HttpReply(res, id);
            // Closing the stream cancels a request in this revision; keep-alives on one find out.
            reply.probes = req.headers().first(HeaderNames.ACCEPT).orElse("").contains("text/event-stream");
            ObjectNode refused = gateway.stateless(upstream, agent, message, reply);
            if (refused != null) send(res, 400, refused);
            else if (kind != JsonRpc.Kind.REQUEST)
                res.status(Status.ACCEPTED_202).send();
            return;
        }
        if (kind == JsonRpc.Kind.REQUEST && "initialize".equals(JsonRpc.method(message))) {
            if (sessionId != null)
                throw rpcError(
                        400, id, JsonRpc.INVALID_REQUEST, "initialize opens a session; send it without Mcp-Session-Id");
            GatewaySession session = gateway.open(upstream, agent);
            res.header(SESSION, session.id());
            HttpReply reply = new HttpReply(res, id);
            session.handle(message, reply);
            if (reply.failed) gateway.end(session);
            return;
        }
        if (sessionId == null)
            throw rpcError(400, id, JsonRpc.INVALID_REQUEST, "Mcp-Session-Id is required: send initialize first");
        GatewaySession session = gateway.session(sessionId, upstream, agent)
                .orElseThrow(() -> rpcError(404, id, JsonRpc.INVALID_REQUEST, "no such session: initialize again"));
        if (version != null && !McpGateway.SESSION_VERSIONS.contains(version))
            throw rpcError(400, id, JsonRpc.INVALID_REQUEST, "unsupported MCP-Protocol-Version " + version);
        if (kind != JsonRpc.Kind.REQUEST) {
            session.handle(message, Outbound.NOWHERE);
            res.status(Status.ACCEPTED_202).send();
            return;
        }
        session.handle(message, new HttpReply(res, id));
    }

    /** The session's own stream: messages that belong to no request (upstream requests, list changes). */
    private void stream(ServerRequest req, ServerResponse res) {
        McpConfig.Upstream upstream = upstream(req);
        Principal agent = agent(req);
        String sessionId = req.headers().first(SESSION).orElse(null);
        if (sessionId == null)
            throw rpcError(400, null, JsonRpc.INVALID_REQUEST, "Mcp-Session-Id is required: send initialize first");
        GatewaySession session = gateway.session(sessionId, upstream, agent)
                .orElseThrow(() -> rpcError(404, null, JsonRpc.INVALID_REQUEST, "no such session: initialize again"));
        HttpReply out = new HttpReply(res, null);
        if (req.prologue().method() == Method.HEAD) { // the stream's head only: its content would not end
            out.open();
            out.finish();
            return;
        }
        CountDownLatch gone = new CountDownLatch(1);
        out.onFailure = gone::countDown;
        session.generalStream(out);
        out.open();
        out.comment(); // sends the head now, not with the first message
        try {
            while (!gone.await(KEEPALIVE_SECONDS, TimeUnit.SECONDS)) {
                if (gateway.session(sessionId, upstream, agent).isEmpty() || !out.comment()) break;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            session.generalStream(null);
            out.finish();
        }
    }

    private void end(ServerRequest req, ServerResponse res) {
        McpConfig.Upstream upstream = upstream(req);
        Principal agent = agent(req);
        String sessionId = req.headers().first(SESSION).orElse(null);
        GatewaySession session = gateway.session(sessionId, upstream, agent)
                .orElseThrow(() -> rpcError(404, null, JsonRpc.INVALID_REQUEST, "no such session"));
        gateway.end(session);
        res.status(Status.NO_CONTENT_204).send();
    }

    /** A request of the stateless revision: its version in the header or in the message's {@code _meta}. */
    private static boolean isStateless(JsonNode message, String version) {
        return McpGateway.STATELESS_VERSION.equals(version)
                || message.path("params").path("_meta").has("io.modelcontextprotocol/protocolVersion");
    }

    private McpConfig.Upstream upstream(ServerRequest req) {
        checkOrigin(req);
        String name = req.path().pathParameters().get("upstream");
        return gateway.upstream(name)
                .orElseThrow(() -> Bodies.problem(
                        404,
                        "mcp-upstream-not-found",
                        "No such MCP upstream",
                        "no MCP server named '" + name + "' is configured; configured: "
                                + gateway.config().upstreams().keySet()));
    }

    private Principal agent(ServerRequest req) {
        Principal p = auth.principal(req);
        if (p.isHuman())
            throw Bodies.problem(
                    403,
                    "wrong-principal-kind",
                    "Agents only",
                    "the MCP gateway serves agents and services; people review requests through the API");
        return p;
    }

    /** Browsers send Origin; only the server's own or configured ones may reach the gateway (DNS rebinding). */
    private void checkOrigin(ServerRequest req) {
        String origin = req.headers().first(HeaderNames.ORIGIN).orElse(null);
        if (origin == null || allowedOrigins.contains(origin)) return;
        String host;
        try {
            host = URI.create(origin).getHost();
        } catch (IllegalArgumentException e) {
            host = null;
        }
        if ("localhost".equals(host) || "127.0.0.1".equals(host) || "[::1]".equals(host)) return;
        throw rpcError(403, null, JsonRpc.INVALID_REQUEST, "Origin " + origin + " may not use the MCP gateway");
    }

    private static RpcFailure rpcError(int status, JsonNode id, int code, String message) {
        return new RpcFailure(status, JsonRpc.error(id, code, message));
    }

    private static void send(ServerResponse res, int status, ObjectNode body) {
        res.status(Status.create(status));
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(JsonRpc.bytes(body));
    }

    /** A JSON-RPC error sent as the whole HTTP response, with its status; the routing writes it. */
    static final class RpcFailure extends RuntimeException {
        private final int status;
        private final ObjectNode body;

        RpcFailure(int status, ObjectNode body) {
            super(body.path("error").path("message").asText(), null, false, false);
            this.status = status;
            this.body = body;
        }

        void write(ServerResponse res) {
            send(res, status, body);
        }
    }

    /**
     * One request's answer: JSON if the response is the first message, else an SSE stream. Messages
     * may come from the handler's thread or the upstream's; sends are serialised here.
     */
    static final class HttpReply implements Outbound {
        private final ServerResponse res;
        private final JsonNode requestId;
        private OutputStream sse;
        private boolean done;
        private boolean gone;
        volatile boolean failed;
        /** Whether {@link #stillThere} may open an SSE stream to look for a dropped connection. */
        boolean probes;

        Runnable onFailure = () -> {};

        HttpReply(ServerResponse res, JsonNode requestId) {
            this.res = res;
            this.requestId = requestId;
        }

        @Override
        public synchronized void send(ObjectNode m) {
            if (done) return;
            boolean last =
                    requestId != null && JsonRpc.kind(m) == JsonRpc.Kind.RESPONSE && requestId.equals(m.get("id"));
            if (last && m.has("error")) failed = true;
            byte[] json = JsonRpc.bytes(m);
            if (sse == null && last) {
                res.header(HeaderNames.CONTENT_TYPE, "application/json");
                res.send(json);
                done = true;
                return;
            }
            open();
            write(("event: message\ndata: " + new String(json, StandardCharsets.UTF_8) + "\n\n"));
            if (last) finish();
        }

        synchronized void open() {
            if (sse != null || done) return;
            res.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
            res.header(HeaderNames.CACHE_CONTROL, "no-cache");
            res.header(HeaderNames.create("X-Accel-Buffering"), "no");
            sse = res.outputStream();
        }

        @Override
        public synchronized boolean stillThere() {
            if (!probes) return true;
            if (!gone && !done) {
                open();
                comment();
            }
            return !gone;
        }

        /** A keep-alive comment; false once the client has gone. */
        synchronized boolean comment() {
            return write(":\n\n");
        }

        synchronized void finish() {
            if (done) return;
            done = true;
            try {
                if (sse != null) sse.close();
            } catch (IOException e) {
                LOG.debug("MCP stream closed by the client: {}", e.getMessage());
            }
        }

        private boolean write(String text) {
            try {
                sse.write(text.getBytes(StandardCharsets.UTF_8));
                sse.flush();
                return true;
            } catch (IOException | RuntimeException e) {
                // In 2025-11-25 a dropped stream is not a cancellation: the request goes on.
                gone = true;
                onFailure.run();
                return false;
            }
        }
    }
}
