package io.countersign.cli;

import picocli.CommandLine.Option;

/**
 * Where the server is and whose key: what every client command takes. The commands that print the
 * server's answers take {@link ClientOptions}, which adds {@code --json}; the others (the MCP relay,
 * whose stdout is MCP's, and the ledger export, which writes files) take this alone.
 */
class ConnectionOptions {
    @Option(
            names = "--server",
            paramLabel = "URL",
            defaultValue = "${env:COUNTERSIGN_URL:-http://127.0.0.1:8080}",
            description = "Server URL (env COUNTERSIGN_URL; default ${DEFAULT-VALUE})")
    String server;

    @Option(
            names = "--key",
            paramLabel = "KEY",
            defaultValue = "${env:COUNTERSIGN_KEY}",
            description = "API key (env COUNTERSIGN_KEY)")
    String key;

    ApiClient client() {
        return new ApiClient(server, key);
    }
}
