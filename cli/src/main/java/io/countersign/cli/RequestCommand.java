package io.countersign.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "request",
        mixinStandardHelpOptions = true,
        description = {
            "Submit an action request (agent or service key), from a JSON file or from flags.",
            "For example:",
            "  countersign request --type db.export --param table=customers \\",
            "      --resource table:customers --env prod --tag pii \\",
            "      --justification 'churn analysis' --wait 5m"
        })
final class RequestCommand implements Callable<Integer> {
    @Mixin
    ClientOptions opts;

    @Option(
            names = {"-f", "--file"},
            paramLabel = "FILE",
            description = "The request body as JSON (- for stdin)")
    String file;

    @Option(names = "--type", paramLabel = "TYPE", description = "Action type, e.g. db.export")
    String type;

    @Option(
            names = "--param",
            paramLabel = "KEY=VALUE",
            description = "Action parameter (value read as JSON when it parses, else text); repeatable")
    Map<String, String> params = new HashMap<>();

    @Option(names = "--resource", paramLabel = "TYPE:ID", description = "The resource, e.g. table:customers")
    String resource;

    @Option(names = "--env", paramLabel = "ENV", description = "The resource's environment, e.g. prod")
    String env;

    @Option(names = "--tag", paramLabel = "TAG", description = "Resource tag; repeatable")
    List<String> tags = List.of();

    @Option(names = "--domain", paramLabel = "DOMAIN", description = "The resource's data domain, e.g. billing")
    String domain;

    @Option(names = "--justification", paramLabel = "TEXT", description = "Why the action is needed; reviewers see it")
    String justification;

    @Option(
            names = "--on-behalf-of",
            paramLabel = "HUMAN",
            description = "The human the agent acts for (who may not then review the request)")
    String onBehalfOf;

    @Option(
            names = "--idempotency-key",
            paramLabel = "KEY",
            description = "A retry with the same key returns the first request")
    String idempotencyKey;

    @Option(
            names = "--wait",
            paramLabel = "DURATION",
            description = "If it is pending, wait this long for a decision, e.g. 5m")
    String wait;

    @Override
    public Integer call() throws IOException {
        JsonNode body = file != null ? readFile() : fromFlags();
        Map<String, String> headers = idempotencyKey == null ? Map.of() : Map.of("Idempotency-Key", idempotencyKey);
        ApiClient client = opts.client();
        JsonNode r = client.post("/v1/requests", body, headers);
        if (wait != null && r.path("state").asText().equals("pending")) {
            // The id stands between spaces, so that a double-click copies it alone.
            if (!opts.json)
                System.err.println("submitted " + r.path("id").asText() + " (pending); waiting up to " + wait
                        + " for a decision...");
            r = client.get("/v1/requests/" + r.path("id").asText() + "?wait=" + wait, ClientCommands.waitTimeout(wait));
        }
        opts.print(r, Text::request);
        return 0;
    }

    private JsonNode readFile() throws IOException {
        String text = file.equals("-")
                ? new String(System.in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                : Files.readString(Path.of(file));
        return Main.reading(
                file.equals("-") ? "stdin" : file, () -> Json.mapper().readTree(text));
    }

    private JsonNode fromFlags() {
        if (type == null || resource == null || !resource.contains(":")) {
            throw new IllegalArgumentException("give --file, or --type and --resource TYPE:ID");
        }
        ObjectNode body = Json.mapper().createObjectNode();
        ObjectNode action = body.putObject("action").put("type", type);
        ObjectNode p = action.putObject("params");
        params.forEach((k, v) -> p.set(k, value(v)));
        ObjectNode res = body.putObject("resource")
                .put("type", resource.substring(0, resource.indexOf(':')))
                .put("id", resource.substring(resource.indexOf(':') + 1));
        if (env != null) res.put("env", env);
        if (domain != null) res.put("domain", domain);
        tags.forEach(res.putArray("tags")::add);
        if (justification != null) body.put("justification", justification);
        if (onBehalfOf != null) body.put("on_behalf_of", onBehalfOf);
        return body;
    }

    private static JsonNode value(String v) {
        try {
            return Json.mapper().readTree(v);
        } catch (IOException e) {
            return Json.mapper().getNodeFactory().textNode(v);
        }
    }
}
