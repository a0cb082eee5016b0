package io.countersign.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real MCP servers the gateway's tests put behind Countersign, from npm ({@code
 * interop/mcp-servers}: the reference "everything" and "filesystem" servers, and small servers built
 * on the official TypeScript SDKs: a one-tool server, one that records every message it receives, a
 * stateless one (SDK v2, revision 2026-07-28) and one that sends messages of its own on its GET
 * stream). Installed once with {@code npm ci} if they are not there.
 */
final class McpServers {
    static final Path DIR =
            Path.of("..", "interop", "mcp-servers").toAbsolutePath().normalize();

    private McpServers() {}

    static void install() {
        NpmPackages.install(
                DIR,
                "@modelcontextprotocol/server-everything",
                "@modelcontextprotocol/server-filesystem",
                "@modelcontextprotocol/sdk",
                "@modelcontextprotocol/server");
    }

    static List<String> filesystem(Path root) {
        install();
        return List.of("node", bin("@modelcontextprotocol/server-filesystem/dist/index.js"), root.toString());
    }

    static List<String> everything() {
        install();
        return List.of("node", bin("@modelcontextprotocol/server-everything/dist/index.js"), "stdio");
    }

    /** The "everything" server over Streamable HTTP on {@code port}, as a process the caller stops. */
    static Process everythingOverHttp(int port) throws IOException {
        install();
        ProcessBuilder pb = new ProcessBuilder(
                        "node", bin("@modelcontextprotocol/server-everything/dist/index.js"), "streamableHttp")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("PORT", Integer.toString(port));
        return pb.start();
    }

    static List<String> changing(Path descriptionFile) {
        install();
        return List.of("node", DIR.resolve("changing-tool.mjs").toString(), descriptionFile.toString());
    }

    /** The recording server: every message it receives goes to {@code log}, one JSON line each. */
    static List<String> recording(Path log) {
        install();
        return List.of("node", DIR.resolve("recording-server.mjs").toString(), log.toString());
    }

    /** The stateless notes server (SDK v2: revision 2026-07-28, and 2025-era requests statelessly). */
    static Listening statelessNotes() throws IOException {
        return listening("stateless-notes.mjs");
    }

    /** The sessionful server that sends notifications and requests of its own on its (resumable) GET stream. */
    static Listening notifying() throws IOException {
        return listening("notifying-server.mjs");
    }

    /** Starts one of the Node servers here on an ephemeral port, once it says which. */
    private static Listening listening(String script) throws IOException {
        install();
        Process p = new ProcessBuilder("node", DIR.resolve(script).toString())
                .redirectErrorStream(true)
                .start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine(); // null if it died first
        if (line == null || !line.startsWith("listening on ")) {
            p.destroyForcibly();
            throw new AssertionError(script + " did not start: " + line);
        }
        Thread.ofVirtual()
                .start(
                        () -> { // the rest of its output, so that it never blocks on a full pipe
                            try {
                                out.transferTo(Writer.nullWriter());
                            } catch (IOException e) {
                                // it exited
                            }
                        });
        return new Listening(
                p, Integer.parseInt(line.substring("listening on ".length()).trim()));
    }

    /** A Node MCP server listening on {@code port}; closing it kills it. */
    record Listening(Process process, int port) implements AutoCloseable {
        URI url() {
            return URI.create("http://127.0.0.1:" + port + "/mcp");
        }

        @Override
        public void close() throws InterruptedException {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static String bin(String path) {
        return DIR.resolve("node_modules").resolve(path).toString();
    }
}
