package io.countersign.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Principal;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.RequestState;
import io.countersign.core.json.Json;
import io.countersign.mcp.McpConfig;
import io.countersign.server.config.DemoIdentities;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests of the stateless revision (2026-07-28) through the gateway to a real upstream that speaks
 * it: the official TypeScript SDK v2 serving {@code stateless-notes.mjs}. The agent sends each request
 * on its own, with no session, its version in {@code MCP-Protocol-Version} and in {@code _meta}.
 */
class McpGatewayStatelessTest {
    private static final Pattern REQUEST_ID = Pattern.compile("req_[0-9A-HJKMNP-TV-Z]{26}");
    private static final Principal BOT = DemoIdentities.principals().getFirst();
    private static final String VERSION = "2026-07-28";
    private static final String POLICY = """
            version: 1
            default: { decision: deny, reason: not covered by the stateless test policy }
            rules:
              - name: reads
                match: action.type == "mcp.tool" && resource.id in ["notes/echo", "notes/regional_echo", "notes/list_notes"]
                decision: allow
              - name: notes-need-a-data-owner
                match: action.type == "mcp.tool" && resource.id == "notes/write_note" && !action.params.text.startsWith("secret")
                decision: require_approval
                approvals: [{ group: data-owners, count: 1 }]
                pending_ttl: 30m
              - name: no-secrets-in-notes
                match: action.type == "mcp.tool" && resource.id == "notes/write_note" && action.params.text.startsWith("secret")
                decision: deny
                reason: secrets are not written to notes
            """;

    @TempDir
    Path data;

    @TempDir
    Path config;

    private McpServers.Listening upstream;
    private ServerFixture fx;
    private int nextId = 1;

    @BeforeEach
    void startUpstream() throws IOException {
        upstream = McpServers.statelessNotes();
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (fx != null) fx.close();
        upstream.close();
    }

    private void start(Duration hold) throws IOException {
        Path policy = Files.writeString(config.resolve("policy.yaml"), POLICY);
        McpConfig.Upstream notes =
                new McpConfig.Upstream("notes", List.of(), null, upstream.url(), null, null, null, null);
        McpConfig mcp = new McpConfig(
                Map.of("notes", notes), hold, Duration.ofMillis(200), Duration.ofSeconds(20), false, List.of());
        fx = new ServerFixture(data, null, policy, mcp);
    }

    /** A request in the stateless form: the envelope in {@code _meta}, the version in the header too. */
    private HttpRequest.Builder stateless(String method, ObjectNode params) {
        HttpRequest.Builder b = fx.as("deploy-bot", "/mcp/notes")
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .header("MCP-Protocol-Version", VERSION)
                .header("Mcp-Method", method)
                .POST(HttpRequest.BodyPublishers.ofString(message(method, params)));
        if (params.has("name")) b.header("Mcp-Name", params.get("name").asText());
        return b;
    }

    private String message(String method, ObjectNode params) {
        ObjectNode meta = params.get("_meta") instanceof ObjectNode m ? m : params.putObject("_meta");
        meta.put("io.modelcontextprotocol/protocolVersion", VERSION);
        meta.putObject("io.modelcontextprotocol/clientInfo")
                .put("name", "stateless-agent")
                .put("version", "1");
        meta.putObject("io.modelcontextprotocol/clientCapabilities");
        ObjectNode message = JsonNodeFactory.instance.objectNode().put("jsonrpc", "2.0");
        message.put("id", "r-" + nextId++).put("method", method).set("params", params);
        return message.toString();
    }

    private ServerFixture.Reply send(String method, ObjectNode params) {
        return fx.send(stateless(method, params));
    }

    private static ObjectNode params() {
        return JsonNodeFactory.instance.objectNode();
    }

    private static ObjectNode call(String tool, String argument, String value) {
        ObjectNode p = params().put("name", tool);
        p.putObject("arguments").put(argument, value);
        return p;
    }

    /** The messages of a reply: one JSON object, or the events of an SSE stream. */
    private static List<JsonNode> messages(ServerFixture.Reply r) throws IOException {
        if (!r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"))
            return List.of(r.json());
        List<JsonNode> out = new ArrayList<>();
        for (String line : r.body().split("\n"))
            if (line.startsWith("data:")) out.add(Json.mapper().readTree(line.substring(5)));
        return out;
    }

    private static String text(JsonNode response) {
        StringBuilder out = new StringBuilder();
        for (JsonNode c : response.path("result").path("content"))
            out.append(c.path("text").asText());
        return out.toString();
    }

    private static RequestId requestIn(String text) {
        Matcher m = REQUEST_ID.matcher(text);
        assertThat(m.find()).as("a request id in: %s", text).isTrue();
        return new RequestId(m.group());
    }

    private String notes() {
        return text(send("tools/call", params().put("name", "list_notes")).json());
    }

    private List<String> eventTypes(RequestId id) {
        return fx.server().service().events(id, BOT).stream().map(e -> e.type()).toList();
    }

    @Test
    void discoverAndToolsListAreRelayedWithoutASession() throws Exception {
        start(Duration.ofSeconds(30));

        ServerFixture.Reply discover = send("server/discover", params());
        ServerFixture.Reply list = send("tools/list", params());

        assertThat(discover.status()).isEqualTo(200);
        assertThat(discover.headers().firstValue("Mcp-Session-Id")).isEmpty();
        assertThat(discover.json().path("id").asText()).isEqualTo("r-1");
        JsonNode found = discover.json().path("result");
        assertThat(found.path("supportedVersions").toString()).contains(VERSION);
        assertThat(found.path("_meta")
                        .path("io.modelcontextprotocol/serverInfo")
                        .path("name")
                        .asText())
                .isEqualTo("stateless-notes");
        assertThat(list.status()).isEqualTo(200);
        assertThat(list.json().path("id").asText()).isEqualTo("r-2");
        List<String> names = new ArrayList<>();
        list.json()
                .path("result")
                .path("tools")
                .forEach(t -> names.add(t.path("name").asText()));
        assertThat(names).containsExactlyInAnyOrder("echo", "regional_echo", "write_note", "list_notes");
        assertThat(fx.server().service().list(BOT, null, 10)).isEmpty(); // listing is no action
    }

    @Test
    void aVersionTheUpstreamDoesNotSpeakIsRefusedNamingTheOnesItDoes() throws Exception {
        start(Duration.ofSeconds(30));
        ObjectNode p = params();
        p.putObject("_meta").put("io.modelcontextprotocol/protocolVersion", "2099-01-01");
        ServerFixture.Reply r = fx.send(fx.as("deploy-bot", "/mcp/notes")
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":" + p + "}")));

        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().path("error").path("code").asInt()).isEqualTo(-32022);
        // This upstream does speak the stateless revision, so the gateway offers it.
        assertThat(r.json().path("error").path("data").path("supported").toString())
                .contains(VERSION);
    }

    @Test
    void anAllowedCallReturnsTheUpstreamsResultAndIsRecordedAsExecuted() throws Exception {
        start(Duration.ofSeconds(30));

        ServerFixture.Reply r = send("tools/call", call("echo", "message", "stateless hello"));

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().path("id").asText()).isEqualTo("r-1");
        assertThat(r.json().path("result").path("isError").asBoolean(false)).isFalse();
        assertThat(text(r.json())).isEqualTo("echo: stateless hello");
        assertThat(r.json().path("result").path("resultType").asText()).isEqualTo("complete");
        Request echo = awaitExecuted();
        assertThat(echo.action().action().type()).isEqualTo("mcp.tool");
        assertThat(echo.action().resource().id()).isEqualTo("notes/echo");
        assertThat(echo.action().action().params().path("message").asText()).isEqualTo("stateless hello");
        assertThat(echo.outcome().resultSha256()).matches("[0-9a-f]{64}");
        assertThat(eventTypes(echo.id()))
                .containsSubsequence(
                        "request.submitted", "request.decided", "grant.issued", "grant.redeemed", "request.executed");
    }

    private Request awaitExecuted() throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            List<Request> done = fx.server().service().list(BOT, RequestState.EXECUTED, 10);
            if (!done.isEmpty()) return done.getFirst();
            Thread.sleep(50);
        }
        throw new AssertionError("no request was recorded as executed");
    }

    @Test
    void anArgumentTheToolMirrorsIntoAHeaderIsSentInThatHeader() throws Exception {
        start(Duration.ofSeconds(5));
        // The upstream refuses (-32020) a call whose Mcp-Param-Region header is missing or disagrees.
        ObjectNode p = params().put("name", "regional_echo");
        p.putObject("arguments").put("region", "Zürich").put("message", "grüezi");

        ServerFixture.Reply r = send("tools/call", p);

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().has("error")).as("%s", r.body()).isFalse();
        assertThat(text(r.json())).isEqualTo("Zürich: grüezi");
    }

    @Test
    void progressTheUpstreamSendsBeforeItsResultReachesTheAgentOnAnEventStream() throws Exception {
        start(Duration.ofSeconds(30));
        ObjectNode p = call("echo", "message", "with progress");
        p.putObject("_meta").put("progressToken", "echo-1");

        ServerFixture.Reply r = send("tools/call", p);

        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<JsonNode> messages = messages(r);
        assertThat(messages).hasSize(2);
        assertThat(messages.getFirst().path("method").asText()).isEqualTo("notifications/progress");
        assertThat(messages.getFirst().path("params").path("progressToken").asText())
                .isEqualTo("echo-1");
        assertThat(messages.getLast().path("id").asText()).isEqualTo("r-1");
        assertThat(text(messages.getLast())).isEqualTo("echo: with progress");
    }

    @Test
    void aCallThePolicyDeniesReturnsTheReasonAndNeverReachesTheUpstream() throws Exception {
        start(Duration.ofSeconds(30));

        ServerFixture.Reply r = send("tools/call", call("write_note", "text", "secret: the root password"));

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().path("result").path("isError").asBoolean()).isTrue();
        assertThat(r.json().path("result").path("resultType").asText()).isEqualTo("complete");
        assertThat(text(r.json())).contains("secrets are not written to notes");
        assertThat(fx.server().service().get(requestIn(text(r.json())), BOT).state())
                .isEqualTo(RequestState.DENIED);
        assertThat(notes()).isEqualTo("[]");
    }

    @Test
    void aCallNeedingApprovalIsHeldAndAnsweredOnceApproved() throws Exception {
        start(Duration.ofSeconds(60));

        CompletableFuture<ServerFixture.Reply> held =
                fx.sendAsync(stateless("tools/call", call("write_note", "text", "approved words")));
        RequestId id = fx.awaitPending(BOT);
        assertThat(held).isNotDone();
        assertThat(notes()).isEqualTo("[]");
        assertThat(fx.review("bob", id.value(), "approve", "fine").status()).isEqualTo(200);

        ServerFixture.Reply r = held.get(30, TimeUnit.SECONDS);
        JsonNode answer = messages(r).getLast();
        assertThat(answer.path("result").path("isError").asBoolean(false)).isFalse();
        assertThat(text(answer)).isEqualTo("noted: approved words");
        assertThat(notes()).isEqualTo("[\"approved words\"]");
        assertThat(fx.awaitState(id, BOT, RequestState.EXECUTED).state()).isEqualTo(RequestState.EXECUTED);
    }

    @Test
    void anAgentThatDropsItsConnectionWhileItsCallIsHeldCancelsTheRequest() throws Exception {
        start(Duration.ofSeconds(60));
        byte[] body =
                message("tools/call", call("write_note", "text", "abandoned")).getBytes(StandardCharsets.UTF_8);
        String head = "POST /mcp/notes HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Authorization: Bearer " + fx.key("deploy-bot") + "\r\n"
                + "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
                + "MCP-Protocol-Version: " + VERSION + "\r\nMcp-Method: tools/call\r\nMcp-Name: write_note\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n";
        RequestId id;
        try (Socket agent =
                new Socket(InetAddress.getLoopbackAddress(), fx.server().port())) {
            agent.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            agent.getOutputStream().write(body);
            agent.getOutputStream().flush();
            id = fx.awaitPending(BOT);
        } // the agent closes its connection: in this revision, its cancellation

        assertThat(fx.awaitState(id, BOT, RequestState.CANCELLED).state()).isEqualTo(RequestState.CANCELLED);
        assertThat(fx.review("bob", id.value(), "approve", "too late").status()).isEqualTo(409);
        assertThat(notes()).isEqualTo("[]");
    }

    @Test
    void aCallHeldPastItsTimeSaysItAwaitsApprovalAndTheSameCallRunsOnceApproved() throws Exception {
        start(Duration.ofMillis(300));
        ObjectNode note = call("write_note", "text", "later");

        ServerFixture.Reply first = send("tools/call", note.deepCopy());
        assertThat(first.json().path("result").path("isError").asBoolean()).isTrue();
        assertThat(text(first.json())).contains("awaits approval").contains("Retry this exact call");
        RequestId id = requestIn(text(first.json()));
        assertThat(notes()).isEqualTo("[]");

        fx.review("bob", id.value(), "approve", "ok");
        ServerFixture.Reply retried = send("tools/call", note.deepCopy());

        assertThat(retried.json().path("result").path("isError").asBoolean(false))
                .isFalse();
        assertThat(text(retried.json())).isEqualTo("noted: later");
        assertThat(notes()).isEqualTo("[\"later\"]");
        assertThat(fx.awaitState(id, BOT, RequestState.EXECUTED).state()).isEqualTo(RequestState.EXECUTED);
    }
}
