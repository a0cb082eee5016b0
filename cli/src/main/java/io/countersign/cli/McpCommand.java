package io.countersign.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.mcp.JsonRpc;
import io.countersign.mcp.Sse;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code countersign mcp --upstream NAME}: the MCP gateway for clients that launch their servers as
 * processes. It speaks MCP's stdio transport on stdin/stdout and relays every message to the
 * server's gateway at {@code /mcp/NAME} (Streamable HTTP) with the agent's key, so policy, approvals
 * and the ledger apply exactly as over HTTP; the upstream runs beside the server, with credentials
 * the agent never holds. Nothing but MCP messages is ever written to stdout; logs go to stderr.
 */
@Command(
        name = "mcp",
        mixinStandardHelpOptions = true,
        description = {
            "Serve one upstream MCP server to an MCP client over stdio, through Countersign's gateway.",
            "Configure it in your MCP client as the server's command, with the agent's key in COUNTERSIGN_KEY, e.g.:",
            "  countersign mcp --upstream files --server http://127.0.0.1:8080"
        })
final class McpCommand implements Callable<Integer> {
    @Option(
            names = "--upstream",
            required = true,
            paramLabel = "NAME",
            description = "The upstream's name in the server's mcp config")
    String upstream;

    @Mixin
    ConnectionOptions client;

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    private final PrintStream out =
            new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
    private URI endpoint;
    private volatile String session;
    private volatile String version;

    @Override
    public Integer call() throws IOException {
        if (client.key == null || client.key.isBlank()) {
            System.err.println("countersign mcp: an agent key is required (--key or COUNTERSIGN_KEY)");
            return 2;
        }
        endpoint = URI.create(client.server.replaceAll("/+$", "") + "/mcp/" + upstream);
        InputStream in = new BufferedInputStream(System.in);
        // Closing stdin ends the session, but only once every request read before it has its answer:
        // closing the executor waits for them.
        try (ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor()) {
            for (byte[] line = readLine(in); line != null; line = readLine(in)) {
                JsonNode m = message(line);
                if (m == null) continue;
                if (JsonRpc.kind(m) == JsonRpc.Kind.REQUEST && !"initialize".equals(JsonRpc.method(m))) {
                    // each request on its own virtual thread: a held call blocks nothing else
                    requests.submit(() -> relay(m));
                } else {
                    // Notifications and responses in order; and initialize before anything else, since
                    // what follows it needs its session (a client waits for its answer anyway).
                    relay(m);
                }
            }
        }
        end();
        return 0;
    }

    /** One line of {@code in}, without its newline; null at the end of the input. */
    private static byte[] readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b >= 0; b = in.read()) {
            if (b == '\n') return line.toByteArray();
            line.write(b);
        }
        return line.size() == 0 ? null : line.toByteArray();
    }

    /** Whether a line holds only JSON's whitespace. */
    private static boolean isBlank(byte[] line) {
        for (byte b : line) if (b != ' ' && b != '\t' && b != '\r') return false;
        return true;
    }

    /**
     * The message on a line; null for a blank line, and for one answered here as JSON-RPC 2.0 says: a
     * parse error (not UTF-8, not JSON, a key twice) or an invalid request, with id null, read as the
     * server's gateway reads them.
     */
    private JsonNode message(byte[] line) {
        if (isBlank(line)) return null;
        JsonNode m;
        try {
            m = JsonRpc.parseFromAgent(line);
        } catch (JsonRpc.MalformedMessageException e) {
            emit(JsonRpc.error(null, JsonRpc.PARSE_ERROR, "Parse error: " + e.getMessage()));
            return null;
        }
        if (JsonRpc.kind(m) != JsonRpc.Kind.INVALID) return m;
        emit(JsonRpc.error(
                null,
                JsonRpc.INVALID_REQUEST,
                m.isArray()
                        ? "JSON-RPC batches are not part of MCP 2025-11-25"
                        : "not a JSON-RPC 2.0 request, notification or response"));
        return null;
    }

    /**
     * Posts one message and passes on what comes back. A request always gets an answer: the server's
     * response, or a JSON-RPC error with its id that says why there was none (a problem's detail).
     * Notifications and responses get none, whatever happens; a failure to deliver one goes to stderr.
     */
    private void relay(JsonNode m) {
        boolean isRequest = JsonRpc.kind(m) == JsonRpc.Kind.REQUEST;
        HttpRequest.Builder b = request()
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JsonRpc.write(m)));
        String failure;
        try {
            HttpResponse<InputStream> r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream body = r.body()) {
                failure = passOn(m, r, body);
            }
        } catch (IOException | RuntimeException e) {
            failure = "Countersign at " + client.server + " is unreachable: "
                    + e.getClass().getSimpleName();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (failure == null) return;
        if (isRequest) emit(JsonRpc.error(m.get("id"), JsonRpc.UPSTREAM_ERROR, failure));
        else System.err.println("countersign mcp: a message was not delivered: " + failure);
    }

    /** Passes on the server's answer to {@code m}; what went wrong if it held no JSON-RPC response to a request. */
    private String passOn(JsonNode m, HttpResponse<InputStream> r, InputStream body) throws IOException {
        boolean isRequest = JsonRpc.kind(m) == JsonRpc.Kind.REQUEST;
        boolean isInitialize = isRequest && "initialize".equals(JsonRpc.method(m));
        if (isInitialize) r.headers().firstValue("Mcp-Session-Id").ifPresent(s -> session = s);
        String type = r.headers().firstValue("Content-Type").orElse("");
        if (r.statusCode() == 202 && !isRequest) return null;
        if (type.startsWith("text/event-stream")) return streamed(m, body);
        JsonNode reply = json(body.readAllBytes());
        if (type.startsWith("application/json") && isResponse(reply)) {
            if (isInitialize && reply.path("result").has("protocolVersion")) {
                version = reply.path("result").path("protocolVersion").asText();
                Thread.ofVirtual().start(this::listen);
            }
            if (!isRequest)
                return reply.has("error") ? reply.path("error").path("message").asText() : null;
            // Where the server could not tell the id (an HTTP 400 with id null), the bridge can.
            if (reply.path("id").isNull() || reply.path("id").isMissingNode())
                ((ObjectNode) reply).set("id", m.get("id"));
            emit((ObjectNode) reply);
            return null;
        }
        // A problem+json (401, 403, 404), or a proxy's page: said as a JSON-RPC error.
        String detail = reply != null && reply.path("detail").isTextual()
                ? reply.get("detail").asText()
                : "HTTP " + r.statusCode();
        return "Countersign refused: " + detail;
    }

    /** Passes on an SSE answer's messages; what went wrong if its stream ended before the response to a request. */
    private String streamed(JsonNode m, InputStream body) throws IOException {
        JsonNode id = m.get("id");
        AtomicBoolean answered = new AtomicBoolean(JsonRpc.kind(m) != JsonRpc.Kind.REQUEST);
        try {
            Sse.read(body, reply -> {
                if (JsonRpc.kind(reply) == JsonRpc.Kind.RESPONSE
                        && reply.get("id").equals(id)) answered.set(true);
                emit(reply);
            });
        } catch (IOException | RuntimeException e) {
            if (!answered.get()) throw e;
        }
        return answered.get() ? null : "the server's stream ended before its answer";
    }

    /** A JSON-RPC response, also one whose id is null or missing: the server's, where it could not tell the id. */
    private static boolean isResponse(JsonNode reply) {
        return reply instanceof ObjectNode
                && "2.0".equals(reply.path("jsonrpc").textValue())
                && (reply.has("result") ^ reply.has("error"));
    }

    /** {@code bytes} as JSON; null if they are none. */
    private static JsonNode json(byte[] bytes) {
        try {
            return JsonRpc.parse(bytes);
        } catch (JsonRpc.MalformedMessageException e) {
            return null;
        }
    }

    /** The session's own stream: requests and notifications the upstream sends unasked. */
    private void listen() {
        try {
            HttpResponse<InputStream> r = http.send(
                    request().header("Accept", "text/event-stream").GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            if (r.statusCode() == 200) Sse.read(r.body(), this::emit);
        } catch (IOException e) {
            System.err.println("countersign mcp: the session stream ended: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private HttpRequest.Builder request() {
        HttpRequest.Builder b = HttpRequest.newBuilder(endpoint)
                .header("Authorization", "Bearer " + client.key)
                .header("Accept", "application/json, text/event-stream");
        if (session != null) b.header("Mcp-Session-Id", session);
        if (version != null) b.header("MCP-Protocol-Version", version);
        return b;
    }

    private void end() {
        if (session == null) return;
        try {
            http.send(request().DELETE().build(), HttpResponse.BodyHandlers.discarding());
        } catch (IOException e) {
            // the server is gone; so is the session
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void emit(ObjectNode m) {
        String line = JsonRpc.write(m);
        synchronized (out) {
            out.print(line);
            out.print('\n');
            out.flush();
        }
    }
}
