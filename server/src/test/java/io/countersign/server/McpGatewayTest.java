package io.countersign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Principal;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.RequestState;
import io.countersign.core.json.Json;
import io.countersign.mcp.GatewaySession;
import io.countersign.mcp.JsonRpc;
import io.countersign.mcp.McpConfig;
import io.countersign.mcp.McpGateway;
import io.countersign.mcp.Outbound;
import io.countersign.server.config.DemoIdentities;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.spec.McpSchema;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MCP gateway end to end: the official MCP Java SDK as the agent, real MCP servers from npm
 * as the upstreams (the reference filesystem and everything servers, a one-tool server whose
 * definition the test changes, and one that records every message it receives), the real server on
 * port 0, reviews through the HTTP API. Where a test must stall one agent's stream, or say exactly
 * which messages go out, it speaks raw JSON-RPC: over HTTP, or to the gateway's sessions in process.
 */
class McpGatewayTest {
    private static final Pattern REQUEST_ID = Pattern.compile("req_[0-9A-HJKMNP-TV-Z]{26}");
    private static final Principal BOT = DemoIdentities.principals().getFirst();

    @TempDir
    Path data;

    @TempDir
    Path files;

    private ServerFixture fx;
    private final List<McpSyncClient> clients = new ArrayList<>();

    @AfterEach
    void close() {
        clients.forEach(McpSyncClient::closeGracefully);
        if (fx != null) fx.close();
    }

    private void start(Duration hold, McpConfig.Upstream... upstreams) {
        Map<String, McpConfig.Upstream> byName = new java.util.LinkedHashMap<>();
        for (McpConfig.Upstream u : upstreams) byName.put(u.name(), u);
        McpConfig mcp = new McpConfig(byName, hold, Duration.ofMillis(200), Duration.ofSeconds(20), false, List.of());
        fx = new ServerFixture(data, null, Path.of("src/test/resources/mcp-policy.yaml"), mcp);
    }

    private McpConfig.Upstream fs() {
        return new McpConfig.Upstream(
                "fs", McpServers.filesystem(files), null, null, null, "prod", List.of("files"), null);
    }

    private static McpConfig.Upstream recording(Path log) {
        return new McpConfig.Upstream("recording", McpServers.recording(log), null, null, null, null, null, null);
    }

    /** What the recording upstream has received, in order. */
    private static List<JsonNode> received(Path log) throws java.io.IOException {
        if (!Files.exists(log)) return List.of();
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(log)) out.add(Json.mapper().readTree(line));
        return out;
    }

    private static List<String> methods(List<JsonNode> messages) {
        return messages.stream().map(m -> m.path("method").asText()).toList();
    }

    private static McpConfig.Upstream everything() {
        return new McpConfig.Upstream("everything", McpServers.everything(), null, null, null, null, null, null);
    }

    private McpSyncClient client(String who, String upstream) {
        HttpClientStreamableHttpTransport transport = HttpClientStreamableHttpTransport.builder(
                        "http://127.0.0.1:" + fx.server().port())
                .endpoint("/mcp/" + upstream)
                .requestBuilder(HttpRequest.newBuilder().header("Authorization", "Bearer " + fx.key(who)))
                .build();
        McpSyncClient c =
                McpClient.sync(transport).requestTimeout(Duration.ofSeconds(60)).build();
        c.initialize();
        clients.add(c);
        return c;
    }

    private static McpSchema.CallToolResult call(McpSyncClient c, String tool, Map<String, Object> args) {
        return c.callTool(new McpSchema.CallToolRequest(tool, args));
    }

    private static ObjectNode message(String json) {
        try {
            return (ObjectNode) Json.mapper().readTree(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The handshake of a session driven in process. */
    private static void initialize(GatewaySession s) {
        CompletableFuture<ObjectNode> answer = new CompletableFuture<>();
        s.handle(message(initialize()), answerTo(answer));
        assertThat(answer.join().has("result")).isTrue();
        s.handle(message("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"), Outbound.NOWHERE);
    }

    /** An agent's stream that completes {@code answer} with the response, and drops the rest. */
    private static Outbound answerTo(CompletableFuture<ObjectNode> answer) {
        return m -> {
            if (m.has("id")) answer.complete(m);
        };
    }

    private static String text(JsonNode response) {
        return response.path("result").path("content").path(0).path("text").asText();
    }

    private static String text(McpSchema.CallToolResult r) {
        StringBuilder out = new StringBuilder();
        for (McpSchema.Content c : r.content()) if (c instanceof McpSchema.TextContent t) out.append(t.text());
        return out.toString();
    }

    private static RequestId requestIn(String text) {
        Matcher m = REQUEST_ID.matcher(text);
        assertThat(m.find()).as("a request id in: %s", text).isTrue();
        return new RequestId(m.group());
    }

    private Request request(RequestId id) {
        return fx.server().service().get(id, BOT);
    }

    private List<String> eventTypes(RequestId id) {
        return fx.server().service().events(id, BOT).stream().map(e -> e.type()).toList();
    }

    private List<JsonNode> ledger() {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode e : fx.get("alice", "/v1/ledger/entries").json().path("entries")) {
            try {
                out.add(io.countersign.core.json.Json.mapper()
                        .readTree(e.path("leaf").asText()));
            } catch (java.io.IOException x) {
                throw new AssertionError(x);
            }
        }
        return out;
    }

    private List<Request> awaitExecuted(int n) throws InterruptedException {
        List<Request> done = List.of();
        for (int i = 0; i < 200 && done.size() < n; i++) {
            done = fx.server().service().list(BOT, RequestState.EXECUTED, 10);
            if (done.size() < n) Thread.sleep(50);
        }
        return done;
    }

    @Test
    void aReadPassesAndItsOutcomeIsRecorded() throws Exception {
        Files.writeString(files.resolve("notes.txt"), "hello from the filesystem server");
        start(Duration.ofSeconds(30), fs());
        McpSyncClient c = client("deploy-bot", "fs");

        McpSchema.CallToolResult r = call(
                c, "read_text_file", Map.of("path", files.resolve("notes.txt").toString()));

        assertThat(r.isError()).isNotEqualTo(Boolean.TRUE);
        assertThat(text(r)).contains("hello from the filesystem server");
        List<Request> done = awaitExecuted(1); // the outcome is recorded just after the answer
        assertThat(done).hasSize(1);
        Request read = done.getFirst();
        assertThat(read.action().action().type()).isEqualTo("mcp.tool");
        assertThat(read.action().resource().id()).isEqualTo("fs/read_text_file");
        assertThat(read.action().resource().env()).isEqualTo("prod");
        assertThat(read.action().action().params().path("path").asText()).endsWith("notes.txt");
        assertThat(read.outcome().resultSha256()).matches("[0-9a-f]{64}");
        assertThat(eventTypes(read.id()))
                .containsSubsequence(
                        "request.submitted", "request.decided", "grant.issued", "grant.redeemed", "request.executed");
    }

    @Test
    void toolsThatPolicyDeniesOutrightAreNotListed() {
        start(Duration.ofSeconds(30), fs());
        McpSyncClient c = client("deploy-bot", "fs");

        List<String> names =
                c.listTools().tools().stream().map(McpSchema.Tool::name).toList();

        assertThat(names).contains("read_text_file", "write_file", "list_directory");
        assertThat(names).doesNotContain("move_file"); // denied whatever the arguments
        assertThat(names).contains("edit_file"); // denied only for some arguments: listed, decided per call
        // Every listed tool was pinned by hash on first sight.
        assertThat(ledger().stream().filter(e -> e.path("type").asText().equals("mcp.tool_pinned")))
                .hasSize(names.size());
    }

    @Test
    void aDeniedCallReturnsTheReasonAndTheRequest() throws Exception {
        Files.writeString(files.resolve("a.md"), "x");
        start(Duration.ofSeconds(30), fs());
        McpSyncClient c = client("deploy-bot", "fs");

        McpSchema.CallToolResult moved = call(
                c,
                "move_file",
                Map.of(
                        "source",
                        files.resolve("a.md").toString(),
                        "destination",
                        files.resolve("b.md").toString()));
        McpSchema.CallToolResult edited = call(
                c,
                "edit_file",
                Map.of(
                        "path",
                        files.resolve("a.md").toString(),
                        "edits",
                        List.of(Map.of("oldText", "x", "newText", "y"))));

        assertThat(moved.isError()).isTrue();
        assertThat(text(moved)).contains("agents do not move files");
        assertThat(request(requestIn(text(moved))).state()).isEqualTo(RequestState.DENIED);
        assertThat(edited.isError()).isTrue();
        assertThat(text(edited)).contains("only .txt files may be edited");
        assertThat(Files.exists(files.resolve("a.md"))).isTrue();
        assertThat(Files.readString(files.resolve("a.md"))).isEqualTo("x");
    }

    @Test
    void aCallToAToolTheUpstreamDoesNotHaveIsAnErrorAndAsksNoOne() {
        start(Duration.ofSeconds(30), fs());
        McpSyncClient c = client("deploy-bot", "fs");

        assertThatThrownBy(() -> call(c, "no_such_tool", Map.of("path", "x")))
                .hasMessageContaining("Unknown tool: no_such_tool");
        // Nothing for people to decide, nothing submitted; the session goes on.
        assertThat(ledger().stream().filter(e -> e.path("type").asText().equals("request.submitted")))
                .isEmpty();
        assertThat(c.listTools().tools()).isNotEmpty();
    }

    @Test
    void aWriteIsHeldUntilTwoPeopleApproveThenCompletes() throws Exception {
        start(Duration.ofSeconds(60), fs());
        McpSyncClient c = client("deploy-bot", "fs");
        Path target = files.resolve("report.txt");

        CompletableFuture<McpSchema.CallToolResult> held = CompletableFuture.supplyAsync(
                () -> call(c, "write_file", Map.of("path", target.toString(), "content", "approved words")),
                Executors.newVirtualThreadPerTaskExecutor());
        RequestId id = fx.awaitPending(BOT);
        Thread.sleep(300);
        assertThat(held).isNotDone();
        assertThat(Files.exists(target)).isFalse();

        // The agent's owner may not approve what her agent asked for.
        assertThat(fx.review("alice", id.value(), "approve", "mine").status()).isEqualTo(403);
        assertThat(fx.review("bob", id.value(), "approve", "fine").status()).isEqualTo(200);
        assertThat(fx.review("carol", id.value(), "approve", "fine").status()).isEqualTo(200);

        McpSchema.CallToolResult r = held.get(30, TimeUnit.SECONDS);
        assertThat(r.isError()).isNotEqualTo(Boolean.TRUE);
        assertThat(Files.readString(target)).isEqualTo("approved words");
        assertThat(fx.awaitState(id, BOT, RequestState.EXECUTED).state()).isEqualTo(RequestState.EXECUTED);
        assertThat(eventTypes(id))
                .containsSubsequence(
                        "request.submitted",
                        "review.refused",
                        "review.recorded",
                        "request.approved",
                        "grant.redeemed",
                        "request.executed");
    }

    @Test
    void aCallHeldPastItsTimeNamesTheRequestAndTheSameCallRunsOnceAfterApproval() throws Exception {
        start(Duration.ofMillis(500), fs());
        McpSyncClient c = client("deploy-bot", "fs");
        Path target = files.resolve("once.txt");
        Map<String, Object> args = Map.of("path", target.toString(), "content", "v1");

        McpSchema.CallToolResult first = call(c, "write_file", args);
        assertThat(first.isError()).isTrue();
        assertThat(text(first)).contains("awaits approval").contains("Retry this exact call");
        RequestId id = requestIn(text(first));
        assertThat(Files.exists(target)).isFalse();

        McpSchema.CallToolResult stillWaiting = call(c, "write_file", args);
        assertThat(requestIn(text(stillWaiting))).isEqualTo(id); // the same request, not a second one

        approve(id);

        McpSchema.CallToolResult retried = call(c, "write_file", args);
        assertThat(retried.isError()).isNotEqualTo(Boolean.TRUE);
        assertThat(Files.readString(target)).isEqualTo("v1");
        assertThat(fx.awaitState(id, BOT, RequestState.EXECUTED).state()).isEqualTo(RequestState.EXECUTED);

        // Once used, the approval is spent: the identical call again is a new request, held.
        McpSchema.CallToolResult again = call(c, "write_file", args);
        assertThat(again.isError()).isTrue();
        RequestId second = requestIn(text(again));
        assertThat(second).isNotEqualTo(id);
        // And a changed argument is a new request too.
        McpSchema.CallToolResult changed = call(c, "write_file", Map.of("path", target.toString(), "content", "v2"));
        RequestId third = requestIn(text(changed));
        assertThat(third).isNotIn(id, second);
        assertThat(Files.readString(target)).isEqualTo("v1");
        assertThat(ledger().stream().filter(e -> e.path("type").asText().equals("grant.redeemed")))
                .hasSize(1);
    }

    @Test
    void aHeldCallWhoseGrantAnIdenticalCallHasUsedIsRefusedAndNotRunAgain() throws Exception {
        Path log = files.resolve("received.jsonl");
        start(Duration.ofSeconds(30), recording(log));
        McpGateway gateway = fx.server().mcp();
        McpConfig.Upstream upstream = gateway.upstream("recording").orElseThrow();
        GatewaySession session = gateway.open(upstream, BOT);
        GatewaySession retrySession = gateway.open(upstream, BOT);
        initialize(session);
        initialize(retrySession);
        String work = """
                {"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"work",
                 "arguments":{"label":"once","seconds":3},"_meta":{"progressToken":"p-%1$d"}}}""";

        CompletableFuture<ObjectNode> first = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> session.handle(message(work.formatted(1)), answerTo(first)));
        RequestId id = fx.awaitPending(BOT);
        // The same call again, as a client retries it: it resumes the same request and is held too,
        // but its agent's stream stalls on the first progress beat (a slow connection), so that it
        // looks at the request again only after the first call has used the grant.
        CompletableFuture<ObjectNode> stalledBeat = new CompletableFuture<>();
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<ObjectNode> retry = new CompletableFuture<>();
        Thread.ofVirtual()
                .start(() -> retrySession.handle(message(work.formatted(2)), m -> {
                    if (!m.has("id") && stalledBeat.complete(m)) awaitQuietly(release);
                    if (m.has("id")) retry.complete(m);
                }));
        try {
            assertThat(stalledBeat
                            .get(20, TimeUnit.SECONDS)
                            .path("params")
                            .path("message")
                            .asText())
                    .contains(id.value());

            approve(id);
            for (int i = 0; i < 200 && !request(id).grant().isRedeemed(); i++) Thread.sleep(25);
            assertThat(request(id).grant().isRedeemed()).isTrue(); // the first call is at work upstream now
        } finally {
            release.countDown(); // the retry goes on, whatever failed above
        }

        ObjectNode refused = retry.get(20, TimeUnit.SECONDS);
        ObjectNode ran = first.get(20, TimeUnit.SECONDS);
        assertThat(methods(received(log)).stream().filter("tools/call"::equals))
                .as("one approval, one run upstream")
                .hasSize(1);
        assertThat(text(ran)).isEqualTo("worked once");
        assertThat(refused.path("result").path("isError").asBoolean()).isTrue();
        assertThat(text(refused)).contains(id.value()).contains("redeemed already");
        assertThat(eventTypes(id).stream().filter("grant.redeemed"::equals)).hasSize(1);
        assertThat(eventTypes(id)).contains("grant.redeem_refused");
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aToolCallSentAsANotificationNeverReachesTheUpstreamButNotificationsDo() throws Exception {
        Path log = files.resolve("received.jsonl");
        start(Duration.ofSeconds(30), recording(log));
        String session = agentSession();

        ServerFixture.Reply initialized =
                mcp("deploy-bot", session, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
        ServerFixture.Reply unanswerable = mcp("deploy-bot", session, """
                {"jsonrpc":"2.0","method":"tools/call","params":{"name":"work","arguments":{"label":"unseen"}}}""");
        ServerFixture.Reply rootsChanged =
                mcp("deploy-bot", session, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/roots/list_changed\"}");
        // A request after them: by the time it is answered, the upstream has what was relayed before it.
        ServerFixture.Reply listed =
                mcp("deploy-bot", session, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");

        assertThat(List.of(initialized.status(), unanswerable.status(), rootsChanged.status()))
                .containsOnly(202); // a notification gets no answer, whatever its method
        assertThat(listed.status()).isEqualTo(200);
        assertThat(methods(received(log)))
                .containsExactly(
                        "initialize", "notifications/initialized", "notifications/roots/list_changed", "tools/list");
        assertThat(ledger().stream().filter(e -> e.path("type").asText().equals("request.submitted")))
                .isEmpty();
    }

    @Test
    void argumentsWithNoCanonicalFormAreInvalidParamsAndNothingIsSubmitted() throws Exception {
        Path log = files.resolve("received.jsonl");
        start(Duration.ofSeconds(30), recording(log));
        String session = agentSession();
        String call = """
                {"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"work","arguments":%s}}""";

        // Past 2^53 an integer has no exact double, and a lone surrogate no UTF-8: neither has a digest.
        JsonNode tooBig = mcp("deploy-bot", session, call.formatted(1, "{\"label\":\"x\",\"n\":9007199254740993}"))
                .json();
        JsonNode loneSurrogate = mcp("deploy-bot", session, call.formatted(2, "{\"label\":\"\\ud800\"}"))
                .json();

        for (JsonNode r : List.of(tooBig, loneSurrogate)) {
            assertThat(r.path("error").path("code").asInt()).isEqualTo(JsonRpc.INVALID_PARAMS);
            assertThat(r.path("error").path("message").asText())
                    .contains("arguments")
                    .contains("canonical");
        }
        assertThat(tooBig.path("error").path("message").asText()).contains("9007199254740993");
        assertThat(loneSurrogate.path("error").path("message").asText()).contains("surrogate");
        assertThat(ledger().stream().filter(e -> e.path("type").asText().equals("request.submitted")))
                .isEmpty();
        assertThat(methods(received(log))).doesNotContain("tools/call");
    }

    /** The changing-tool server behind the gateway, its one tool pinned by a first call. */
    private McpSyncClient deployedOnceThroughTheChangingServer(Path description) throws Exception {
        Files.writeString(description, "Deploys a service");
        start(
                Duration.ofSeconds(30),
                new McpConfig.Upstream(
                        "changing", McpServers.changing(description), null, null, null, null, null, null));
        McpSyncClient c = client("deploy-bot", "changing");
        assertThat(text(call(c, "deploy", Map.of("service", "web")))).isEqualTo("deployed web");
        return c;
    }

    /** Kills (-9) the upstream processes whose command line mentions {@code part}, and waits for them to go. */
    private static void killUpstreams(String part) throws Exception {
        List<ProcessHandle> killed = ProcessHandle.current()
                .descendants()
                .filter(p -> p.info().commandLine().orElse("").contains(part))
                .toList();
        assertThat(killed).isNotEmpty();
        killed.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle p : killed) p.onExit().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aChangedToolDefinitionIsCaughtAndBlockedUntilReapproved() throws Exception {
        Path description = files.resolve("description.txt");
        deployedOnceThroughTheChangingServer(description);

        Files.writeString(description, "Deploys a service and drops its database first");
        McpSyncClient later = client("deploy-bot", "changing");
        McpSchema.CallToolResult blocked = call(later, "deploy", Map.of("service", "web"));

        assertThat(blocked.isError()).isTrue();
        assertThat(text(blocked)).contains("changed since it was trusted");
        RequestId reapproval = requestIn(text(blocked));
        Request r = request(reapproval);
        assertThat(r.action().action().type()).isEqualTo("mcp.tool_definition");
        assertThat(r.action()
                        .action()
                        .params()
                        .path("definition")
                        .path("description")
                        .asText())
                .isEqualTo("Deploys a service and drops its database first");
        assertThat(ledger().stream().map(e -> e.path("type").asText())).contains("mcp.tool_pinned", "mcp.tool_changed");

        assertThat(fx.review("dave", reapproval.value(), "approve", "reviewed the new description")
                        .status())
                .isEqualTo(200);
        assertThat(text(call(later, "deploy", Map.of("service", "api")))).isEqualTo("deployed api");
        assertThat(ledger().stream().map(e -> e.path("type").asText())).contains("mcp.tool_repinned");
        assertThat(request(reapproval).state()).isEqualTo(RequestState.EXECUTED);
    }

    @Test
    void aRestartedUpstreamIsCheckedAgainBeforeACallRunsOnIt() throws Exception {
        Path description = files.resolve("description.txt");
        McpSyncClient c = deployedOnceThroughTheChangingServer(description);

        // Another version of the server comes up in its place: same session, no tools/list from the agent.
        Files.writeString(description, "Deploys a service and drops its database first");
        killUpstreams("changing-tool");

        McpSchema.CallToolResult after = null;
        for (int attempt = 0; attempt < 3 && after == null; attempt++) {
            try {
                after = call(c, "deploy", Map.of("service", "api"));
            } catch (RuntimeException e) { // a call in flight when it died: a clear error
                assertThat(e.getMessage()).contains("changing");
            }
        }
        assertThat(after).isNotNull();
        assertThat(after.isError()).as(text(after)).isTrue();
        assertThat(text(after)).contains("changed since it was trusted").doesNotContain("deployed");
        assertThat(ledger().stream().map(e -> e.path("type").asText())).contains("mcp.tool_changed");
        // Not yet trusted, the new definition is not shown to the agent either.
        assertThat(c.listTools().tools()).extracting(McpSchema.Tool::name).doesNotContain("deploy");

        RequestId reapproval = requestIn(text(after));
        assertThat(fx.review("dave", reapproval.value(), "approve", "read the new description")
                        .status())
                .isEqualTo(200);
        assertThat(c.listTools().tools())
                .extracting(McpSchema.Tool::description)
                .containsExactly("Deploys a service and drops its database first");
        assertThat(text(call(c, "deploy", Map.of("service", "api")))).isEqualTo("deployed api");
    }

    @Test
    void aStdioUpstreamGetsItsOwnEnvironmentAndNoneOfTheServersSecrets() throws Exception {
        assertThat(System.getenv("COUNTERSIGN_TEST_SERVER_SECRET"))
                .as("set for the tests by the parent POM's surefire configuration; run them with ./mvnw")
                .isNotNull();
        start(
                Duration.ofSeconds(30),
                new McpConfig.Upstream(
                        "everything",
                        McpServers.everything(),
                        Map.of("UPSTREAM_TOKEN", "for-this-server-only"),
                        null,
                        null,
                        null,
                        null,
                        null));
        McpSyncClient c = client("deploy-bot", "everything");
        JsonNode env = Json.mapper().readTree(text(call(c, "get-env", Map.of())));

        assertThat(env.path("UPSTREAM_TOKEN").asText()).isEqualTo("for-this-server-only");
        assertThat(env.has("PATH")).isTrue();
        List<String> names = new java.util.ArrayList<>();
        env.fieldNames().forEachRemaining(names::add);
        assertThat(names)
                .doesNotContain("COUNTERSIGN_TEST_SERVER_SECRET")
                .allSatisfy(n -> assertThat(n.equals("UPSTREAM_TOKEN") || McpConfig.INHERITED_ENVIRONMENT.contains(n))
                        .as(n)
                        .isTrue());
    }

    @Test
    void callsBackToBackEachHaveTheirOutcomeRecordedDurably() throws Exception {
        start(Duration.ofSeconds(30), everything());
        McpSyncClient c = client("deploy-bot", "everything");
        for (int i = 0; i < 5; i++)
            assertThat(text(call(c, "echo", Map.of("message", "call " + i)))).contains("call " + i);
        c.closeGracefully();
        clients.remove(c);
        McpConfig mcp = fx.server().config().mcp();

        fx.close(); // each outcome rode with the next call's write; the last, with none to ride, by its timer or
        // at close
        fx = new ServerFixture(data, null, Path.of("src/test/resources/mcp-policy.yaml"), mcp);

        List<Request> executed = fx.server().service().list(BOT, RequestState.EXECUTED, 10);
        assertThat(executed).hasSize(5);
        for (Request r : executed) {
            assertThat(r.outcome().resultSha256()).matches("[0-9a-f]{64}");
            assertThat(eventTypes(r.id())).endsWith("grant.redeemed", "request.executed");
        }
    }

    @Test
    void anUpstreamOverStreamableHttpIsReachedThroughTheGateway() throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            port = free.getLocalPort();
        }
        Process upstream = McpServers.everythingOverHttp(port);
        try {
            awaitListening(port);
            start(
                    Duration.ofSeconds(30),
                    new McpConfig.Upstream(
                            "remote",
                            List.of(),
                            null,
                            java.net.URI.create("http://127.0.0.1:" + port + "/mcp"),
                            Map.of("X-Upstream-Token", "upstream-secret"),
                            null,
                            null,
                            null));
            McpSyncClient c = client("deploy-bot", "remote");
            assertThat(c.listTools().tools().stream().map(McpSchema.Tool::name)).contains("echo", "get-sum");
            assertThat(text(call(c, "echo", Map.of("message", "over http")))).contains("over http");
            assertThat(text(call(c, "get-sum", Map.of("a", 2, "b", 40)))).contains("42");
            assertThat(awaitExecuted(2)).hasSize(2);
        } finally {
            upstream.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static void awaitListening(int port) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                return;
            } catch (java.io.IOException e) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("the everything MCP server did not start listening on " + port);
    }

    @Test
    void aCrashedUpstreamGivesAClearErrorAndIsRestarted() throws Exception {
        start(Duration.ofSeconds(30), everything());
        McpSyncClient c = client("deploy-bot", "everything");
        assertThat(text(call(c, "echo", Map.of("message", "before")))).contains("before");

        killUpstreams("server-everything");

        String after = null;
        for (int attempt = 0; attempt < 3 && after == null; attempt++) {
            try {
                after = text(call(c, "echo", Map.of("message", "after")));
            } catch (RuntimeException e) { // the call in flight when it died: a clear error
                assertThat(e.getMessage()).contains("everything");
            }
        }
        assertThat(after).contains("after");
    }

    @Test
    void malformedMessagesGetJsonRpcErrorsAndTheGatewayKeepsServing() {
        start(Duration.ofSeconds(30), everything());
        ServerFixture.Reply notJson = mcp("deploy-bot", null, "{not json");
        assertThat(notJson.status()).isEqualTo(400);
        assertThat(notJson.json().path("error").path("code").asInt()).isEqualTo(-32700);

        // A key twice: which one counts would be the parser's choice, so the message is malformed.
        ServerFixture.Reply twice = mcp(
                "deploy-bot",
                null,
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"," + "\"method\":\"tools/call\"}");
        assertThat(twice.status()).isEqualTo(400);
        assertThat(twice.json().path("error").path("code").asInt()).isEqualTo(-32700);
        assertThat(twice.json().path("error").path("message").asText()).contains("Duplicate field 'method'");

        // Not UTF-8: an overlong '/' (C0 AF), which the parser alone would read as '/'.
        byte[] overlong = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"p\":\"\u00c0\u00af\"}}"
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1); // U+00C0 U+00AF: the bytes C0 AF
        ServerFixture.Reply notUtf8 =
                fx.send(post("deploy-bot", null, HttpRequest.BodyPublishers.ofByteArray(overlong), null));
        assertThat(notUtf8.status()).isEqualTo(400);
        assertThat(notUtf8.json().path("error").path("code").asInt()).isEqualTo(-32700);
        assertThat(notUtf8.json().path("error").path("message").asText()).contains("not valid UTF-8");

        // No JSON at all (an empty or blank body) is a parse error too, not an invalid request.
        for (String nothing : new String[] {"", "   \r\n"}) {
            ServerFixture.Reply empty = mcp("deploy-bot", null, nothing);
            assertThat(empty.status()).as("'%s'", nothing).isEqualTo(400);
            assertThat(empty.json().path("error").path("code").asInt()).isEqualTo(-32700);
            assertThat(empty.json().path("error").path("message").asText()).contains("empty");
        }

        ServerFixture.Reply batch = mcp("deploy-bot", null, "[]");
        assertThat(batch.json().path("error").path("code").asInt()).isEqualTo(-32600);

        ServerFixture.Reply noSession =
                mcp("deploy-bot", null, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
        assertThat(noSession.status()).isEqualTo(400);
        assertThat(noSession.json().path("error").path("message").asText()).contains("initialize");

        ServerFixture.Reply unknown =
                mcp("deploy-bot", "0123", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
        assertThat(unknown.status()).isEqualTo(404);

        ServerFixture.Reply human = mcp("bob", null, initialize());
        assertThat(human.status()).isEqualTo(403);

        // Another agent cannot use deploy-bot's session.
        String session = agentSession();
        assertThat(mcp("etl-pipeline", session, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}")
                        .status())
                .isEqualTo(404);
        ServerFixture.Reply invalid = mcp("deploy-bot", session, "{\"jsonrpc\":\"2.0\",\"id\":{}}");
        assertThat(invalid.json().path("error").path("code").asInt()).isEqualTo(-32600);
        ServerFixture.Reply noName =
                mcp("deploy-bot", session, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{}}");
        assertThat(noName.json().path("error").path("code").asInt()).isEqualTo(-32602);
        ServerFixture.Reply numberName = mcp(
                "deploy-bot",
                session,
                "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":12}}");
        assertThat(numberName.json().path("error").path("code").asInt()).isEqualTo(-32602);
        assertThat(numberName.json().path("error").path("message").asText()).contains("must be a string");

        McpSyncClient c = client("deploy-bot", "everything");
        assertThat(text(call(c, "echo", Map.of("message", "still here")))).contains("still here");
    }

    @Test
    void aStatelessRequestIsRefusedWithTheUnsupportedVersionErrorWhenTheUpstreamIsNotStateless() {
        start(Duration.ofSeconds(30), everything());
        String body = """
                {"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"_meta":{
                  "io.modelcontextprotocol/protocolVersion":"2026-07-28",
                  "io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},
                  "io.modelcontextprotocol/clientCapabilities":{}}}}""";
        ServerFixture.Reply r = fx.send(fx.as("deploy-bot", "/mcp/everything")
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .header("MCP-Protocol-Version", "2026-07-28")
                .POST(HttpRequest.BodyPublishers.ofString(body)));

        assertThat(r.status()).isEqualTo(400);
        JsonNode error = r.json().path("error");
        assertThat(error.path("code").asInt()).isEqualTo(-32022);
        assertThat(error.path("data").path("requested").asText()).isEqualTo("2026-07-28");
        assertThat(error.path("data").path("supported").toString())
                .contains("2025-11-25")
                .doesNotContain("2026-07-28");
        assertThat(r.json().path("id").asInt()).isEqualTo(7);
    }

    @Test
    void aHeldCallSendsProgressAndTheClientsCancellationWithdrawsItsRequest() throws Exception {
        start(Duration.ofSeconds(30), fs());
        String session = agentSession();
        assertThat(mcp("deploy-bot", session, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}")
                        .status())
                .isEqualTo(202);
        String call = """
                {"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"write_file",
                 "arguments":{"path":"%s","content":"never"},"_meta":{"progressToken":"p-1"}}}""".formatted(files.resolve("never.txt").toString().replace("\\", "\\\\"));
        CompletableFuture<ServerFixture.Reply> held = fx.sendAsync(post("deploy-bot", session, call));
        RequestId id = fx.awaitPending(BOT);
        Thread.sleep(500); // a few progress beats

        ServerFixture.Reply cancel = mcp("deploy-bot", session, """
                {"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"call-1","reason":"user"}}""");
        assertThat(cancel.status()).isEqualTo(202);
        ServerFixture.Reply r = held.get(20, TimeUnit.SECONDS);

        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        assertThat(r.body())
                .contains("notifications/progress")
                .contains("\"progressToken\":\"p-1\"")
                .contains(id.value());
        assertThat(r.body()).contains("\"id\":\"call-1\"");
        assertThat(request(id).state()).isEqualTo(RequestState.CANCELLED);
        assertThat(Files.exists(files.resolve("never.txt"))).isFalse();
    }

    @Test
    void aCancellationWithdrawsOnlyTheHeldCallWhoseIdIsOfItsJsonTypeNotOneWithTheSameText() throws Exception {
        Path log = files.resolve("received.jsonl");
        start(Duration.ofSeconds(30), recording(log));
        GatewaySession session = recordingSession();
        CompletableFuture<ObjectNode> held = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> session.handle(message(work(1, 0)), answerTo(held)));
        RequestId id = fx.awaitPending(BOT);

        session.handle(message(cancelled("\"1\"")), Outbound.NOWHERE); // handled before it returns
        assertThat(request(id).state()).isEqualTo(RequestState.PENDING);
        assertThat(held).isNotDone();

        session.handle(message(cancelled("1")), Outbound.NOWHERE);
        assertThat(text(held.get(20, TimeUnit.SECONDS))).contains("Cancelled by the client");
        assertThat(held.get().get("id").isIntegralNumber()).isTrue();
        assertThat(request(id).state()).isEqualTo(RequestState.CANCELLED);
    }

    @Test
    void aCancellationIsNotRelayedForARequestWhoseIdHasTheSameTextButAnotherJsonType() throws Exception {
        Path log = files.resolve("received.jsonl");
        start(Duration.ofSeconds(30), recording(log));
        GatewaySession session = recordingSession();
        CompletableFuture<ObjectNode> ran = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> session.handle(message(work(1, 2)), answerTo(ran)));
        approve(fx.awaitPending(BOT));
        for (int i = 0; i < 400 && !methods(received(log)).contains("tools/call"); i++) Thread.sleep(25);
        assertThat(methods(received(log))).contains("tools/call"); // at work upstream for 2 s

        session.handle(message(cancelled("\"1\"")), Outbound.NOWHERE);
        // A request after it: by the time it is answered, the upstream has what was relayed before it.
        CompletableFuture<ObjectNode> pong = new CompletableFuture<>();
        session.handle(message("{\"jsonrpc\":\"2.0\",\"id\":\"after\",\"method\":\"ping\"}"), answerTo(pong));
        assertThat(pong.get(20, TimeUnit.SECONDS).has("result")).isTrue();

        assertThat(methods(received(log))).doesNotContain("notifications/cancelled");
        assertThat(text(ran.get(20, TimeUnit.SECONDS))).isEqualTo("worked call");
    }

    @Test
    void anUpstreamsProgressGoesToTheCallWhoseTokenIsOfItsJsonTypeNotOneWithTheSameText() throws Exception {
        start(Duration.ofSeconds(30), recording(files.resolve("received.jsonl")));
        GatewaySession session = recordingSession();
        // Two calls at work upstream at once, one with the progress token "1", the other with 1.
        List<ObjectNode> toA = new CopyOnWriteArrayList<>();
        List<ObjectNode> toB = new CopyOnWriteArrayList<>();
        Thread a = Thread.ofVirtual().start(() -> session.handle(message(workWithToken(1, "a", "\"1\"")), toA::add));
        approve(fx.awaitPending(BOT));
        Thread b = Thread.ofVirtual().start(() -> session.handle(message(workWithToken(2, "b", "1")), toB::add));
        approve(fx.awaitPending(BOT));
        a.join(Duration.ofSeconds(20));
        b.join(Duration.ofSeconds(20));

        assertThat(upstreamProgress(toA)).containsExactly("worked a");
        assertThat(upstreamProgress(toB)).containsExactly("worked b");
    }

    /** Approved by two data owners, as the test policy asks. */
    private void approve(RequestId id) {
        fx.review("bob", id.value(), "approve", "ok");
        fx.review("carol", id.value(), "approve", "ok");
    }

    /** The recording upstream's call {@code id}, working 2 s, with a progress token (JSON text). */
    private static String workWithToken(int id, String label, String token) {
        return """
                {"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"work",
                 "arguments":{"label":"%s","seconds":2},"_meta":{"progressToken":%s}}}""".formatted(id, label, token);
    }

    /** The messages of the upstream's own progress notifications among {@code sent}. */
    private static List<String> upstreamProgress(List<ObjectNode> sent) {
        return sent.stream()
                .filter(m -> "notifications/progress".equals(m.path("method").asText()))
                .map(m -> m.path("params").path("message").asText())
                .filter(t -> t.startsWith("worked "))
                .toList();
    }

    /** A session of deploy-bot's with the recording upstream, driven in process. */
    private GatewaySession recordingSession() {
        McpGateway gateway = fx.server().mcp();
        GatewaySession session = gateway.open(gateway.upstream("recording").orElseThrow(), BOT);
        initialize(session);
        return session;
    }

    /** The recording upstream's tool call with the number {@code id}, working {@code seconds} once run. */
    private static String work(int id, int seconds) {
        return """
                {"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"work",
                 "arguments":{"label":"call","seconds":%d}}}""".formatted(id, seconds);
    }

    private static String cancelled(String requestId) {
        return "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":" + requestId
                + ",\"reason\":\"user\"}}";
    }

    @Test
    void headOnTheSessionStreamAnswersAsGetWouldWithoutOpeningTheStream() {
        start(Duration.ofSeconds(30), everything());
        String session = agentSession();
        ServerFixture.Reply head = fx.send(fx.as("deploy-bot", "/mcp/everything")
                .header("Mcp-Session-Id", session)
                .timeout(Duration.ofSeconds(10)) // a stream opened would not end
                .HEAD());
        assertThat(head.status()).isEqualTo(200);
        assertThat(head.header("Content-Type")).isEqualTo("text/event-stream");

        ServerFixture.Reply noSession =
                fx.send(fx.as("deploy-bot", "/mcp/everything").HEAD());
        ServerFixture.Reply getNoSession =
                fx.send(fx.as("deploy-bot", "/mcp/everything").GET());
        assertThat(noSession.status()).isEqualTo(400).isEqualTo(getNoSession.status());
        assertThat(noSession.header("Content-Length")).isEqualTo(getNoSession.header("Content-Length"));
        assertThat(fx.server().mcp().sessionCount()).isEqualTo(1);
    }

    @Test
    void anUnknownUpstreamIsAProblem() {
        start(Duration.ofSeconds(30), everything());
        ServerFixture.Reply r = mcp("deploy-bot", null, initialize(), "/mcp/nope");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.json().path("type").asText()).endsWith("mcp-upstream-not-found");
        assertThatThrownBy(() -> client("deploy-bot", "nope")).isInstanceOf(RuntimeException.class);
    }

    private static String initialize() {
        return """
                {"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",
                 "capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""";
    }

    private HttpRequest.Builder post(String who, String session, String body) {
        return post(who, session, body, null);
    }

    private HttpRequest.Builder post(String who, String session, String body, String path) {
        return post(who, session, HttpRequest.BodyPublishers.ofString(body), path);
    }

    private HttpRequest.Builder post(String who, String session, HttpRequest.BodyPublisher body, String path) {
        return fx.mcpPost(who, path == null ? "/mcp/" + firstUpstream() : path, session, body);
    }

    /** A new session of deploy-bot's, initialized over HTTP: its Mcp-Session-Id. */
    private String agentSession() {
        return mcp("deploy-bot", null, initialize())
                .headers()
                .firstValue("Mcp-Session-Id")
                .orElseThrow();
    }

    private ServerFixture.Reply mcp(String who, String session, String body) {
        return fx.send(post(who, session, body));
    }

    private ServerFixture.Reply mcp(String who, String session, String body, String path) {
        return fx.send(post(who, session, body, path));
    }

    private String firstUpstream() {
        return fx.server().config().mcp().upstreams().keySet().iterator().next();
    }
}
