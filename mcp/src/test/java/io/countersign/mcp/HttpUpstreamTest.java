package io.countersign.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A Streamable HTTP upstream against a scripted peer: what reaches the listener, and when send returns. */
class HttpUpstreamTest {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final ScriptedHttpServer server = new ScriptedHttpServer();
    private final Recorder listener = new Recorder();

    HttpUpstreamTest() throws IOException {}

    @AfterEach
    void close() throws IOException {
        server.close();
    }

    private HttpUpstream upstream(Duration timeout) {
        McpConfig.Upstream config = new McpConfig.Upstream(
                "remote", null, null, server.url("/mcp"), Map.of("X-Upstream-Token", "secret"), null, null, null);
        return new HttpUpstream(config, listener, timeout);
    }

    private static ObjectNode request(long id, String method) {
        return JsonRpc.request(F.numberNode(id), method, F.objectNode());
    }

    /** Records what the upstream hands over, in order. */
    static final class Recorder implements UpstreamConnection.Listener {
        final List<ObjectNode> received = new CopyOnWriteArrayList<>();
        final List<String> closed = new CopyOnWriteArrayList<>();

        @Override
        public void received(ObjectNode message) {
            received.add(message);
        }

        @Override
        public void closed(String why) {
            closed.add(why);
        }
    }

    @Test
    void aRequestReturnsOnceItsResponseHasComeThoughTheStreamStaysOpen() {
        server.enqueue(ScriptedHttpServer.chunked(
                200,
                "text/event-stream",
                false,
                "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"p\"}}\n\n",
                "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[]}}\n\n"));
        HttpUpstream u = upstream(Duration.ofSeconds(30));

        long t0 = System.nanoTime();
        u.send(request(7, "tools/call"));

        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        assertThat(listener.received).hasSize(2);
        assertThat(JsonRpc.method(listener.received.get(0))).isEqualTo("notifications/progress");
        assertThat(listener.received.get(1).path("id").asLong()).isEqualTo(7);
    }

    @Test
    void theUpstreamsSessionGoesOnLaterPostsWithTheConfiguredHeaders() throws Exception {
        server.enqueue(initializeAnswer("upstream-session"));
        server.enqueue(ScriptedHttpServer.answer(202, null, ""));
        server.enqueue(ScriptedHttpServer.answer(405, null, "")); // the GET stream: this upstream has none
        HttpUpstream u = upstream(Duration.ofSeconds(30));

        u.send(request(1, "initialize"));
        u.send(JsonRpc.notification("notifications/initialized", null));

        ScriptedHttpServer.Received first = server.takeRequest();
        ScriptedHttpServer.Received second = server.takeRequest();
        ScriptedHttpServer.Received stream = server.takeRequest();
        assertThat(first.headers()).containsEntry("x-upstream-token", "secret").doesNotContainKey("mcp-session-id");
        assertThat(second.headers())
                .containsEntry("mcp-session-id", "upstream-session")
                .containsEntry("mcp-protocol-version", "2025-11-25")
                .containsEntry("x-upstream-token", "secret")
                .doesNotContainKey("authorization");
        assertThat(stream.method()).isEqualTo("GET");
        assertThat(stream.headers())
                .containsEntry("accept", "text/event-stream")
                .containsEntry("mcp-session-id", "upstream-session")
                .containsEntry("x-upstream-token", "secret");
        assertThat(server.connections()).isEqualTo(1);
    }

    @Test
    void theUpstreamsOwnStreamIsRelayedAndResumedAfterTheLastEventIdWhenItEnds() throws Exception {
        server.enqueue(initializeAnswer("s"));
        server.enqueue(ScriptedHttpServer.answer(202, null, ""));
        server.enqueue(ScriptedHttpServer.chunked(
                200,
                "text/event-stream",
                true,
                "id: e-1\nretry: 10\ndata: \n\n",
                "id: e-2\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n"));
        server.enqueue(ScriptedHttpServer.answer(405, null, ""));
        server.enqueue(ScriptedHttpServer.answer(204, null, "")); // the DELETE that ends the session
        HttpUpstream u = upstream(Duration.ofSeconds(30));

        u.send(request(1, "initialize"));
        u.send(JsonRpc.notification("notifications/initialized", null));
        server.takeRequest();
        server.takeRequest();
        ScriptedHttpServer.Received opened = server.takeRequest();
        ScriptedHttpServer.Received resumed = server.takeRequest();

        assertThat(opened.headers()).doesNotContainKey("last-event-id");
        assertThat(resumed.method()).isEqualTo("GET");
        assertThat(resumed.headers()).containsEntry("last-event-id", "e-2");
        assertThat(listener.received.stream().map(JsonRpc::method)).contains("notifications/tools/list_changed");
        u.close();
    }

    @Test
    void aStatelessMessageCarriesItsVersionMethodAndNameInHeaders() throws Exception {
        server.enqueue(ScriptedHttpServer.answer(
                200, "application/json", "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"content\":[]}}"));
        server.enqueue(ScriptedHttpServer.answer(
                200, "application/json", "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"content\":[]}}"));
        HttpUpstream u = upstream(Duration.ofSeconds(30));

        u.send(statelessCall(4, "echo"));
        u.send(statelessCall(5, "café ünïcode"));

        ScriptedHttpServer.Received plain = server.takeRequest();
        ScriptedHttpServer.Received encoded = server.takeRequest();
        assertThat(plain.headers())
                .containsEntry("mcp-protocol-version", "2026-07-28")
                .containsEntry("mcp-method", "tools/call")
                .containsEntry("mcp-name", "echo")
                .doesNotContainKey("mcp-session-id");
        assertThat(encoded.headers())
                .containsEntry(
                        "mcp-name",
                        "=?base64?"
                                + java.util.Base64.getEncoder()
                                        .encodeToString(
                                                "café ünïcode".getBytes(java.nio.charset.StandardCharsets.UTF_8))
                                + "?=");
        assertThat(listener.received).hasSize(2);
    }

    private static ObjectNode statelessCall(long id, String tool) {
        ObjectNode params = F.objectNode().put("name", tool);
        params.putObject("_meta")
                .put("io.modelcontextprotocol/protocolVersion", "2026-07-28")
                .putObject("io.modelcontextprotocol/clientCapabilities");
        return JsonRpc.request(F.numberNode(id), "tools/call", params);
    }

    @Test
    void aJsonRpcErrorSentWithAnHttpErrorStatusReachesTheListenerAsItIs() {
        server.enqueue(
                ScriptedHttpServer.answer(
                        400,
                        "application/json",
                        "{\"jsonrpc\":\"2.0\",\"id\":6,\"error\":{\"code\":-32022,\"message\":\"Unsupported protocol version\"}}"));

        upstream(Duration.ofSeconds(30)).send(statelessCall(6, "echo"));

        assertThat(listener.received).hasSize(1);
        assertThat(listener.received.getFirst().path("error").path("code").asInt())
                .isEqualTo(-32022);
    }

    @Test
    void headerValuesThatAreNotPlainVisibleAsciiAreBase64Wrapped() {
        assertThat(HttpUpstream.headerValue("tools/call")).isEqualTo("tools/call");
        assertThat(HttpUpstream.headerValue(" padded")).startsWith("=?base64?");
        assertThat(HttpUpstream.headerValue("line\nbreak")).startsWith("=?base64?");
        assertThat(HttpUpstream.headerValue("=?base64?abcd?=")).isEqualTo("=?base64?PT9iYXNlNjQ/YWJjZD89?=");
    }

    @Test
    void aStreamThatEndsWithoutTheResponseAnswersTheRequestWithAnErrorAtOnce() {
        server.enqueue(ScriptedHttpServer.chunked(
                200,
                "text/event-stream",
                true,
                "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n\n"));

        upstream(Duration.ofSeconds(30)).send(request(5, "tools/call"));

        assertThat(listener.received).hasSize(2);
        assertThat(listener.received.getLast().path("id").asLong()).isEqualTo(5);
        assertThat(listener.received.getLast().path("error").path("message").asText())
                .contains("without a response");
    }

    @Test
    void anUpstreamSilentPastTheTimeoutAnswersTheRequestWithAnErrorNamingIt() {
        server.enqueue(ScriptedHttpServer.HANG);

        upstream(Duration.ofMillis(300)).send(request(3, "tools/call"));

        assertThat(listener.received).hasSize(1);
        ObjectNode error = listener.received.getFirst();
        assertThat(error.path("id").asLong()).isEqualTo(3);
        assertThat(error.path("error").path("code").asInt()).isEqualTo(JsonRpc.UPSTREAM_ERROR);
        assertThat(error.path("error").path("message").asText())
                .contains("remote")
                .contains("did not answer tools/call");
    }

    @Test
    void aSessionTheUpstreamEndedClosesTheConnection() {
        server.enqueue(initializeAnswer("s"));
        server.enqueue(ScriptedHttpServer.answer(404, null, ""));
        HttpUpstream u = upstream(Duration.ofSeconds(30));
        u.send(request(1, "initialize"));

        u.send(request(2, "tools/list"));

        assertThat(u.isOpen()).isFalse();
        assertThat(listener.closed).singleElement().asString().contains("ended its session");
        assertThat(listener.received.getLast().path("error").path("message").asText())
                .contains("ended its session");
    }

    @Test
    void anUnreachableUpstreamAnswersTheRequestWithAnError() throws IOException {
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        McpConfig.Upstream config = new McpConfig.Upstream(
                "remote",
                null,
                null,
                java.net.URI.create("http://127.0.0.1:" + closedPort + "/mcp"),
                null,
                null,
                null,
                null);

        new HttpUpstream(config, listener, Duration.ofSeconds(2)).send(request(4, "tools/list"));

        assertThat(listener.received.getFirst().path("error").path("message").asText())
                .contains("remote")
                .contains("unreachable");
    }

    /** The upstream's answer to {@code initialize} (id 1), opening session {@code sessionId}. */
    private static byte[] initializeAnswer(String sessionId) {
        return ScriptedHttpServer.answer(
                200,
                "application/json",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":\"2025-11-25\",\"serverInfo\":{}}}",
                "Mcp-Session-Id: " + sessionId);
    }
}
