package io.countersign.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.Principal;
import io.countersign.core.RequestState;
import io.countersign.mcp.McpConfig;
import io.countersign.server.config.DemoIdentities;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code countersign mcp --upstream NAME} as an MCP client launches it: the official Java SDK's
 * stdio client starts the command as a process, and every message goes through the server's gateway
 * to the real filesystem MCP server, policy and ledger included.
 */
class McpBridgeTest {
    private static final Principal BOT = DemoIdentities.principals().getFirst();
    private static final Path NODE_MODULES = Path.of("..", "interop", "mcp-servers", "node_modules")
            .toAbsolutePath()
            .normalize();

    private static final Path MCP_POLICY = Path.of("..", "server", "src", "test", "resources", "mcp-policy.yaml");

    @TempDir
    Path data;

    @TempDir
    Path files;

    @Test
    void anMcpClientThatLaunchesProcessesReachesTheUpstreamThroughTheGateway() throws Exception {
        Files.writeString(files.resolve("hello.txt"), "through the bridge");
        McpConfig mcp = fsGateway();
        try (CliFixture fx = new CliFixture(data, MCP_POLICY, mcp)) {
            List<String> command = bridgeCommand(fx);
            ServerParameters params = ServerParameters.builder(command.getFirst())
                    .args(command.subList(1, command.size()))
                    .env(Map.of("COUNTERSIGN_KEY", fx.key("deploy-bot")))
                    .build();
            McpSyncClient client = McpClient.sync(new StdioClientTransport(params, McpJsonDefaults.getMapper()))
                    .requestTimeout(Duration.ofSeconds(60))
                    .initializationTimeout(Duration.ofSeconds(60))
                    .build();
            try {
                client.initialize();
                List<String> tools = client.listTools().tools().stream()
                        .map(McpSchema.Tool::name)
                        .toList();
                assertThat(tools).contains("read_text_file").doesNotContain("move_file");

                McpSchema.CallToolResult read = client.callTool(new McpSchema.CallToolRequest(
                        "read_text_file",
                        Map.of("path", files.resolve("hello.txt").toString())));
                McpSchema.CallToolResult moved = client.callTool(new McpSchema.CallToolRequest(
                        "move_file",
                        Map.of(
                                "source",
                                files.resolve("hello.txt").toString(),
                                "destination",
                                files.resolve("x.txt").toString())));

                assertThat(((McpSchema.TextContent) read.content().getFirst()).text())
                        .contains("through the bridge");
                assertThat(moved.isError()).isTrue();
                assertThat(((McpSchema.TextContent) moved.content().getFirst()).text())
                        .contains("agents do not move files");
                List<?> executed = List.of();
                for (int k = 0; k < 200 && executed.isEmpty(); k++) { // recorded just after the answer
                    executed = fx.server().service().list(BOT, RequestState.EXECUTED, 10);
                    if (executed.isEmpty()) Thread.sleep(50);
                }
                assertThat(executed).hasSize(1);
                assertThat(fx.server().service().list(BOT, RequestState.DENIED, 10))
                        .hasSize(1);
            } finally {
                client.closeGracefully();
            }
        }
    }

    /**
     * A script that writes its requests and closes stdin at once gets every answer before the bridge
     * exits: closing stdin ends the session only after the requests read before it.
     */
    @Test
    void requestsReadBeforeStdinClosesAreAllAnswered() throws Exception {
        Files.writeString(files.resolve("hello.txt"), "piped");
        try (CliFixture fx = new CliFixture(data, MCP_POLICY, fsGateway())) {
            String script = """
                    {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}
                    {"jsonrpc":"2.0","method":"notifications/initialized"}
                    {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"%s"}}}
                    """.formatted(files.resolve("hello.txt"));
            List<JsonNode> answers = bridge(fx, fx.key("deploy-bot"), script);
            assertThat(answers).extracting(a -> a.path("id").asInt()).containsExactly(1, 2);
            assertThat(answers.get(1)
                            .path("result")
                            .path("content")
                            .get(0)
                            .path("text")
                            .asText())
                    .isEqualTo("piped");

            List<JsonNode> refused =
                    bridge(fx, "cs_not-a-key", script.lines().findFirst().orElseThrow() + "\n");
            assertThat(refused).hasSize(1);
            assertThat(refused.getFirst().path("error").path("message").asText())
                    .contains("Countersign refused")
                    .contains("API key");
        }
    }

    /**
     * Every line that is not a notification gets an answer, as JSON-RPC 2.0 says, also when the server
     * answers with an HTTP problem (here: no upstream of that name) rather than a JSON-RPC message.
     */
    @Test
    void everyLineButANotificationIsAnsweredEvenWhenTheServerAnswersWithAProblem() throws Exception {
        try (CliFixture fx = new CliFixture(data, MCP_POLICY, fsGateway())) {
            String lines = """
                    {}
                    {"jsonrpc":"2.0","method":"notifications/initialized"}
                    {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}
                    {"jsonrpc":"2.0","id":2,"method":"tools/list"}
                    [1]
                    not json
                    {"jsonrpc":"2.0","id":3,"method":"ping","method":"tools/list"}
                    {"jsonrpc":"2.0","id":4,"method":"ping","params":{"p":"\u00c0\u00af"}}
                    """;
            // ISO-8859-1 makes U+00C0 U+00AF the bytes C0 AF: an overlong '/', not UTF-8.
            List<JsonNode> answers = bridge(
                    fx, fx.key("deploy-bot"), "nope", lines.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));

            assertThat(answers).hasSize(7);
            assertThat(answers)
                    .filteredOn(a -> a.path("id").isNull())
                    .extracting(a -> a.path("error").path("code").asInt())
                    .containsExactlyInAnyOrder(-32600, -32600, -32700, -32700, -32700);
            List<JsonNode> refused =
                    answers.stream().filter(a -> !a.path("id").isNull()).toList();
            assertThat(refused).extracting(a -> a.path("id").asInt()).containsExactlyInAnyOrder(1, 2);
            assertThat(refused)
                    .allSatisfy(a -> assertThat(a.path("error").path("message").asText())
                            .contains("no MCP server named 'nope'"));
        }
    }

    /** Runs the bridge to fs with {@code stdin} as its whole input; its stdout, one JSON-RPC message a line. */
    private static List<JsonNode> bridge(CliFixture fx, String key, String stdin) throws Exception {
        return bridge(fx, key, "fs", stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Runs the bridge to {@code upstream} with {@code stdin} as its whole input; its stdout, a message a line. */
    private static List<JsonNode> bridge(CliFixture fx, String key, String upstream, byte[] stdin) throws Exception {
        ProcessBuilder pb =
                new ProcessBuilder(bridgeCommand(fx, upstream)).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("COUNTERSIGN_KEY", key);
        Process p = pb.start();
        try (var in = p.getOutputStream()) {
            in.write(stdin);
        }
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        List<JsonNode> messages = new java.util.ArrayList<>();
        for (String line : out.lines().toList())
            messages.add(io.countersign.core.json.Json.mapper().readTree(line));
        return messages;
    }

    /** {@code countersign mcp --upstream fs} against {@code fx}'s server, as a command line. */
    private static List<String> bridgeCommand(CliFixture fx) {
        return bridgeCommand(fx, "fs");
    }

    /** {@code countersign mcp --upstream UPSTREAM} against {@code fx}'s server, as a command line. */
    private static List<String> bridgeCommand(CliFixture fx, String upstream) {
        return List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "mcp",
                "--upstream",
                upstream,
                "--server",
                "http://127.0.0.1:" + fx.server().port());
    }

    /** The gateway in front of the reference filesystem server over {@link #files}, as "fs". */
    private McpConfig fsGateway() {
        assertThat(NODE_MODULES.resolve("@modelcontextprotocol/server-filesystem"))
                .as("run 'npm ci' in interop/mcp-servers (the server module's tests do it) first")
                .isDirectory();
        McpConfig.Upstream fs = new McpConfig.Upstream(
                "fs",
                List.of(
                        "node",
                        NODE_MODULES
                                .resolve("@modelcontextprotocol/server-filesystem/dist/index.js")
                                .toString(),
                        files.toString()),
                null,
                null,
                null,
                "prod",
                null,
                null);
        return new McpConfig(
                Map.of("fs", fs),
                Duration.ofSeconds(30),
                Duration.ofSeconds(5),
                Duration.ofSeconds(20),
                false,
                List.of());
    }

    @Test
    void withoutAKeyItSaysWhatIsMissing() {
        CliFixture.Run r = CliFixture.run("mcp", "--upstream", "fs", "--key", "");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("COUNTERSIGN_KEY");
    }
}
