package io.countersign.server;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The real MCP servers the gateway's tests put behind Countersign, from npm ({@code
 * interop/mcp-servers}: the reference "everything" and "filesystem" servers and a one-tool server
 * built on the official SDK). Installed once with {@code npm ci} if they are not there.
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
                "@modelcontextprotocol/sdk");
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

    private static String bin(String path) {
        return DIR.resolve("node_modules").resolve(path).toString();
    }
}
