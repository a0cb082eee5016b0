package io.countersign.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.json.Json;
import picocli.CommandLine.Option;

/** The connection, and the output form: text, or the server's JSON with {@code --json}. */
final class ClientOptions extends ConnectionOptions {
    @Option(names = "--json", description = "Print the server's JSON instead of text")
    boolean json;

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
