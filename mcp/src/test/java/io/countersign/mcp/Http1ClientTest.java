package io.countersign.mcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The upstream HTTP/1.1 client against a scripted peer on loopback. */
class Http1ClientTest {
    private static final byte[] JSON =
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}".getBytes(StandardCharsets.UTF_8);

    private final ScriptedHttpServer server = new ScriptedHttpServer();
    private final Http1Client client = new Http1Client(
            server.url("/mcp?x=1"), Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(30));

    Http1ClientTest() throws IOException {}

    @AfterEach
    void close() throws IOException {
        client.close();
        server.close();
    }

    private static Map<String, String> headers(String... kv) {
        Map<String, String> h = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) h.put(kv[i], kv[i + 1]);
        return h;
    }

    private static String read(Http1Client.Response r) throws IOException {
        try (r;
                InputStream in = r.body()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void postsTheBodyWithItsHeadersAndReadsAnAnswerByContentLength() throws Exception {
        server.enqueue(ScriptedHttpServer.answer(200, "application/json", "{\"ok\":true}", "Mcp-Session-Id: s-1"));

        Http1Client.Response r = client.send("POST", headers("Content-Type", "application/json", "X-Token", "t"), JSON);

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("mcp-session-id")).isEqualTo("s-1");
        assertThat(read(r)).isEqualTo("{\"ok\":true}");
        ScriptedHttpServer.Received sent = server.takeRequest();
        assertThat(sent.method()).isEqualTo("POST");
        assertThat(sent.target()).isEqualTo("/mcp?x=1");
        assertThat(sent.headers())
                .containsEntry("host", "127.0.0.1:" + server.url("/").getPort())
                .containsEntry("x-token", "t")
                .containsEntry("content-length", Integer.toString(JSON.length));
        assertThat(sent.body()).isEqualTo(new String(JSON, StandardCharsets.UTF_8));
    }

    @Test
    void readsAChunkedEventStreamWhoseEventsSpanChunks() throws Exception {
        server.enqueue(ScriptedHttpServer.chunked(
                200, "text/event-stream", true, "event: message\ndata: {\"a\"", ":1}\n\n", "data: {\"b\":2}\n\n"));

        try (Http1Client.Response r = client.send("POST", headers(), JSON)) {
            java.util.List<String> events = new java.util.ArrayList<>();
            Sse.read(r.body(), m -> events.add(m.toString()));
            assertThat(events).containsExactly("{\"a\":1}", "{\"b\":2}");
        }
    }

    @Test
    void reusesAConnectionWhoseAnswerWasReadToItsEnd() throws Exception {
        server.enqueue(ScriptedHttpServer.answer(200, "application/json", "{}"));
        server.enqueue(ScriptedHttpServer.chunked(200, "text/event-stream", true, "data: {}\n\n"));
        server.enqueue(ScriptedHttpServer.answer(202, null, ""));

        read(client.send("POST", headers(), JSON));
        read(client.send("POST", headers(), JSON));
        read(client.send("POST", headers(), JSON));

        assertThat(server.connections()).isEqualTo(1);
        assertThat(server.takeRequest().connection()).isEqualTo(1);
    }

    @Test
    void closesAConnectionWhoseAnswerWasNotReadToItsEnd() throws Exception {
        server.enqueue(ScriptedHttpServer.chunked(200, "text/event-stream", false, "data: {}\n\n"));
        server.enqueue(ScriptedHttpServer.answer(200, "application/json", "{}"));

        try (Http1Client.Response r = client.send("POST", headers(), JSON)) {
            assertThat(r.body().read(new byte[10])).isPositive(); // part of a stream that goes on
        }
        read(client.send("POST", headers(), JSON));

        assertThat(server.connections()).isEqualTo(2);
    }

    @Test
    void keepsTheConnectionOfAStreamThatEndsAfterTheCallerStoppedReading() throws Exception {
        server.enqueue(ScriptedHttpServer.chunked(
                200, "text/event-stream", true, "data: {\"id\":1}\n\n", ": after the response\n\n"));
        server.enqueue(ScriptedHttpServer.answer(200, "application/json", "{}"));

        try (Http1Client.Response r = client.send("POST", headers(), JSON)) {
            Sse.read(r.body(), m -> false, Sse.NO_DEADLINE); // stops at the first event, as at a response
        }
        Thread.sleep(200); // the rest is read off the caller's path
        read(client.send("POST", headers(), JSON));

        assertThat(server.connections()).isEqualTo(1);
    }

    @Test
    void neverReusesAConnectionTheServerSaidItWouldClose() throws Exception {
        server.enqueue(ScriptedHttpServer.answer(200, "application/json", "{}", "Connection: close"));
        server.enqueue(ScriptedHttpServer.answer(200, "application/json", "{}"));

        read(client.send("POST", headers(), JSON));
        read(client.send("POST", headers(), JSON));

        assertThat(server.connections()).isEqualTo(2);
    }

    @Test
    void opensANewConnectionRatherThanReuseOneIdleTooLong() throws Exception {
        try (Http1Client brief = new Http1Client(
                server.url("/mcp"), Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofMillis(50))) {
            server.enqueue(ScriptedHttpServer.answer(200, "application/json", "{}"));
            server.enqueue(ScriptedHttpServer.answer(200, "application/json", "{}"));

            read(brief.send("POST", headers(), JSON));
            Thread.sleep(120);
            read(brief.send("POST", headers(), JSON));
        }
        assertThat(server.connections()).isEqualTo(2);
    }

    @Test
    void refusesAHeaderThatWouldSplitTheRequest() {
        assertThatThrownBy(() -> client.send("POST", headers("X-Token", "a\r\nX-Evil: 1"), JSON))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("X-Token");
        assertThat(server.connections()).isZero();
    }

    @Test
    void aServerThatSaysNothingTimesOutTheRead() {
        server.enqueue(ScriptedHttpServer.HANG);
        try (Http1Client impatient =
                new Http1Client(server.url("/mcp"), Duration.ofSeconds(2), Duration.ofMillis(200))) {
            assertThatThrownBy(() -> impatient.send("POST", headers(), JSON))
                    .isInstanceOf(java.net.SocketTimeoutException.class);
        }
    }

    @Test
    void aConnectionClosedWithoutAnAnswerIsAnError() {
        server.enqueue(ScriptedHttpServer.CLOSE);
        assertThatThrownBy(() -> client.send("POST", headers(), JSON)).isInstanceOf(IOException.class);
    }
}
