package io.countersign.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.json.Json;
import io.countersign.mcp.McpConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an upstream over Streamable HTTP sends outside any request, on its own GET stream, reaches
 * the agent on the session's stream: notifications, a tools/list_changed that makes the gateway list
 * (and check) the tools again, the upstream's requests (answered by the agent), and what was sent
 * while that stream was down (the gateway resumes it with {@code Last-Event-ID}). The upstream is
 * {@code notifying-server.mjs} on the official TypeScript SDK; the agent speaks raw HTTP so that the
 * test sees exactly what the gateway sends.
 */
class McpGatewayStreamTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String POLICY = """
            version: 1
            default: { decision: deny, reason: not covered by the stream test policy }
            rules:
              - name: notifying-tools
                match: action.type == "mcp.tool" && resource.id.startsWith("notifying/")
                decision: allow
              - name: changed-tools-need-security
                match: action.type == "mcp.tool_definition"
                decision: require_approval
                approvals: [{ group: security, count: 1 }]
            """;

    @TempDir
    Path data;

    @TempDir
    Path config;

    private McpServers.Listening upstream;
    private ServerFixture fx;
    private final HttpClient http =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final BlockingQueue<JsonNode> sessionStream = new LinkedBlockingQueue<>();
    private Stream<String> streamLines;
    private String session;
    private int nextId = 1;

    @BeforeEach
    void start() throws IOException {
        upstream = McpServers.notifying();
        Path policy = Files.writeString(config.resolve("policy.yaml"), POLICY);
        McpConfig.Upstream notifying =
                new McpConfig.Upstream("notifying", List.of(), null, upstream.url(), null, null, null, null);
        McpConfig mcp = new McpConfig(
                Map.of("notifying", notifying), Duration.ofSeconds(30), Duration.ofMillis(200), WAIT, false, List.of());
        fx = new ServerFixture(data, null, policy, mcp);
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (streamLines != null) streamLines.close();
        if (fx != null) fx.close();
        upstream.close();
        http.close();
    }

    private HttpRequest.Builder post(String body) {
        return fx.mcpPost("deploy-bot", "/mcp/notifying", session, HttpRequest.BodyPublishers.ofString(body));
    }

    /** initialize, initialized, and the session's stream opened: what comes on it lands in {@link #sessionStream}. */
    private void connect() throws Exception {
        ServerFixture.Reply init = fx.send(post("""
                {"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",
                 "capabilities":{"roots":{}},"clientInfo":{"name":"raw","version":"1"}}}"""));
        assertThat(init.status()).isEqualTo(200);
        session = init.headers().firstValue("Mcp-Session-Id").orElseThrow();
        assertThat(fx.send(post("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"))
                        .status())
                .isEqualTo(202);
        HttpResponse<Stream<String>> stream = http.send(
                fx.as("deploy-bot", "/mcp/notifying")
                        .header("Accept", "text/event-stream")
                        .header("Mcp-Session-Id", session)
                        .header("MCP-Protocol-Version", "2025-11-25")
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofLines());
        assertThat(stream.statusCode()).isEqualTo(200);
        streamLines = stream.body();
        Thread.ofVirtual().start(() -> {
            try {
                streamLines.filter(l -> l.startsWith("data:")).forEach(l -> sessionStream.add(parse(l.substring(5))));
            } catch (UncheckedIOException e) {
                // the stream closed
            }
        });
    }

    private static JsonNode parse(String json) {
        try {
            return Json.mapper().readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private JsonNode callTool(String tool, String arguments) {
        ServerFixture.Reply r = fx.send(post("""
                {"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"%s","arguments":%s}}""".formatted(nextId++, tool, arguments)));
        assertThat(r.status()).isEqualTo(200);
        String body = r.body();
        if (body.startsWith("{")) return parse(body).path("result");
        JsonNode last = null;
        for (String line : body.split("\n")) if (line.startsWith("data:")) last = parse(line.substring(5));
        return last.path("result");
    }

    private static String text(JsonNode result) {
        StringBuilder out = new StringBuilder();
        for (JsonNode c : result.path("content")) out.append(c.path("text").asText());
        return out.toString();
    }

    /** The next message on the session's stream that {@code wanted} accepts (others are skipped). */
    private JsonNode awaitOnSessionStream(Predicate<JsonNode> wanted, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        for (long left = WAIT.toNanos(); left > 0; left = deadline - System.nanoTime()) {
            JsonNode m = sessionStream.poll(left, TimeUnit.NANOSECONDS);
            if (m != null && wanted.test(m)) return m;
        }
        throw new AssertionError("no " + what + " on the session's stream within " + WAIT);
    }

    private static Predicate<JsonNode> logMessage(String text) {
        return m -> m.path("method").asText().equals("notifications/message")
                && m.path("params").path("data").asText().equals(text);
    }

    @Test
    void aNotificationTheUpstreamSendsOnItsOwnStreamReachesTheAgentsSessionStream() throws Exception {
        connect();

        assertThat(text(callTool("announce", "{\"text\":\"deploys are frozen\"}")))
                .isEqualTo("announced");

        JsonNode note = awaitOnSessionStream(logMessage("deploys are frozen"), "notifications/message");
        assertThat(note.has("id")).isFalse();
        assertThat(note.path("params").path("level").asText()).isEqualTo("info");
    }

    @Test
    void aListChangedOnTheUpstreamsStreamMakesTheGatewayCheckTheToolsAgainBeforeTheNextCall() throws Exception {
        connect();
        assertThat(text(callTool("deploy", "{\"service\":\"web\"}"))).isEqualTo("deployed web"); // pinned

        callTool("redescribe", "{\"description\":\"Deploys a service and drops its database first\"}");
        awaitOnSessionStream(
                m -> m.path("method").asText().equals("notifications/tools/list_changed"),
                "notifications/tools/list_changed");
        JsonNode blocked = callTool("deploy", "{\"service\":\"web\"}");

        // Without the list_changed the gateway would still trust its last listing, and the call would run.
        assertThat(blocked.path("isError").asBoolean()).isTrue();
        assertThat(text(blocked)).contains("changed since it was trusted");
    }

    @Test
    void whatTheUpstreamSentWhileItsStreamWasDownArrivesOnceTheGatewayResumesIt() throws Exception {
        connect();
        callTool("announce", "{\"text\":\"before the drop\"}");
        awaitOnSessionStream(logMessage("before the drop"), "the message before the drop");

        // The upstream closes its stream, then sends: only a stream resumed after the last event id gets it.
        assertThat(text(callTool("drop_stream", "{\"text\":\"while it was down\"}")))
                .isEqualTo("dropped");

        awaitOnSessionStream(logMessage("while it was down"), "the message sent while the stream was down");
        JsonNode gets = parse(text(callTool("stream_requests", "{}")));
        assertThat(gets.size()).isGreaterThanOrEqualTo(2);
        assertThat(gets.get(0).isNull()).isTrue(); // the first GET resumes nothing
        assertThat(gets.get(gets.size() - 1).asText()).matches("_GET_stream:\\d+");
    }

    @Test
    void aRequestFromTheUpstreamReachesTheAgentAndItsAnswerGoesBack() throws Exception {
        connect();

        assertThat(text(callTool("ask_roots", "{}"))).isEqualTo("asked");
        JsonNode ask = awaitOnSessionStream(m -> m.path("method").asText().equals("roots/list"), "roots/list");
        ServerFixture.Reply answered = fx.send(post("""
                {"jsonrpc":"2.0","id":%s,"result":{"roots":[{"uri":"file:///srv/app","name":"app"}]}}""".formatted(ask.get("id"))));

        assertThat(answered.status()).isEqualTo(202);
        String roots = "null";
        for (int i = 0; i < 100 && roots.equals("null"); i++) { // the upstream takes the answer in on its own time
            roots = text(callTool("last_roots", "{}"));
            if (roots.equals("null")) Thread.sleep(50);
        }
        assertThat(roots).contains("file:///srv/app");
    }
}
