package io.countersign.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.json.Json;
import picocli.CommandLine.Option;

/** Options every client command takes: where the server is, whose key, and the output form. */
final class ClientOptions {
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

    @Option(names = "--json", description = "Print the server's JSON instead of text")
    boolean json;

    ApiClient client() {
        return new ApiClient(server, key);
    }

    void print(JsonNode node, java.util.function.Function<JsonNode, String> text) {
        if (json) {
            try {
                System.out.println(
                        Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(node));
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        } else {
            System.out.println(text.apply(node));
        }
    }
}
