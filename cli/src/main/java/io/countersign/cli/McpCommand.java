package io.countersign.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.mcp.JsonRpc;
import io.countersign.mcp.Sse;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
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
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        // Closing stdin ends the session, but only once every request read before it has its answer:
        // closing the executor waits for them.
        try (ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor()) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) continue;
                JsonNode m;
                try {
                    m = JsonRpc.parse(line);
                } catch (JsonRpc.MalformedMessageException e) {
                    emit(JsonRpc.error(null, JsonRpc.PARSE_ERROR, "Parse error: " + e.getMessage()));
                    continue;
                }
                if (JsonRpc.kind(m) == JsonRpc.Kind.REQUEST && !"initialize".equals(JsonRpc.method(m))) {
                    JsonNode message = m; // each request on its own virtual thread: a held call blocks nothing else
                    requests.submit(() -> relay(message));
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

    private void relay(JsonNode m) {
        boolean isRequest = JsonRpc.kind(m) == JsonRpc.Kind.REQUEST;
        boolean isInitialize = isRequest && "initialize".equals(JsonRpc.method(m));
        HttpRequest.Builder b = request()
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JsonRpc.write(m)));
        try {
            HttpResponse<InputStream> r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream body = r.body()) {
                if (isInitialize) r.headers().firstValue("Mcp-Session-Id").ifPresent(s -> session = s);
                String type = r.headers().firstValue("Content-Type").orElse("");
                if (r.statusCode() == 202) return;
                if (type.startsWith("text/event-stream")) {
                    Sse.read(body, this::emit);
                } else if (type.startsWith("application/json")) {
                    JsonNode reply = JsonRpc.parse(new String(body.readAllBytes(), StandardCharsets.UTF_8));
                    if (isInitialize && reply.path("result").has("protocolVersion")) {
                        version = reply.path("result").path("protocolVersion").asText();
                        Thread.ofVirtual().start(this::listen);
                    }
                    if (isRequest || reply.has("error")) emit((ObjectNode) reply);
                } else if (isRequest) { // a problem+json (401, 403, 404): say it as a JSON-RPC error
                    String text = new String(body.readAllBytes(), StandardCharsets.UTF_8);
                    JsonNode problem = text.isEmpty() ? null : JsonRpc.parse(text);
                    String detail = problem == null
                            ? "HTTP " + r.statusCode()
                            : problem.path("detail").asText("HTTP " + r.statusCode());
                    emit(JsonRpc.error(m.get("id"), JsonRpc.UPSTREAM_ERROR, "Countersign refused: " + detail));
                }
            }
        } catch (IOException | RuntimeException e) {
            if (isRequest)
                emit(JsonRpc.error(
                        m.get("id"),
                        JsonRpc.UPSTREAM_ERROR,
                        "Countersign at " + client.server + " is unreachable: "
                                + e.getClass().getSimpleName()));
            else System.err.println("countersign mcp: a notification was not delivered: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
