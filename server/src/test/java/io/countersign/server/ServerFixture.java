package io.countersign.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.Principal;
import io.countersign.core.json.Json;
import io.countersign.core.testing.MutableClock;
import io.countersign.mcp.McpConfig;
import io.countersign.server.config.DemoIdentities;
import io.countersign.server.config.ServerConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A real server on port 0 with the demo cast (agent deploy-bot owned by alice; service etl-pipeline;
 * humans alice, bob, carol, dave, erin), a hand-moved clock, and an HTTP client that speaks as any
 * of them.
 */
public final class ServerFixture implements AutoCloseable {
    public static final Instant START = Instant.parse("2025-03-03T09:00:00Z");

    public static final String PII_EXPORT = """
            {"action": {"type": "db.export", "params": {"table": "customers"}},
             "resource": {"type": "table", "id": "customers", "env": "prod", "tags": ["pii"]},
             "justification": "churn analysis"}""";

    public static final String READ_QUERY = """
            {"action": {"type": "db.query", "params": {"readonly": true, "sql": "select 1"}},
             "resource": {"type": "table", "id": "orders", "env": "prod"}}""";

    public static final String PROD_SHELL = """
            {"action": {"type": "shell.exec", "params": {"command": "uptime"}},
             "resource": {"type": "host", "id": "web-1", "env": "prod"}}""";

    public final MutableClock clock = new MutableClock(START);
    private final Map<String, String> keys = new LinkedHashMap<>();
    private final CountersignServer server;
    private final HttpClient http =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    ServerFixture(Path dataDir) {
        this(dataDir, null);
    }

    ServerFixture(Path dataDir, ServerConfig.Ledger ledger) {
        this(dataDir, ledger, Path.of("..", "examples", "policy.yaml"), null);
    }

    /** A server on {@code policy} with the MCP gateway's {@code mcp} upstreams. */
    ServerFixture(Path dataDir, ServerConfig.Ledger ledger, Path policy, McpConfig mcp) {
        this(dataDir, policy, Map.of(), c -> c.withMcp(mcp).withLedger(ledger));
    }

    /**
     * A server on {@code policy} whose demo principals have the outside identities in {@code links},
     * its config changed by {@code customise} (channels, say).
     */
    public ServerFixture(
            Path dataDir,
            Path policy,
            Map<String, ServerConfig.Links> links,
            java.util.function.UnaryOperator<ServerConfig> customise) {
        List<ServerConfig.Identity> identities =
                DemoIdentities.withNewKeys(keys, p -> links.getOrDefault(p.id(), ServerConfig.Links.NONE));
        ServerConfig config = customise.apply(ServerConfig.local(dataDir, policy, identities));
        this.server = CountersignServer.start(config, clock);
    }

    public CountersignServer server() {
        return server;
    }

    public String key(String who) {
        return keys.get(who);
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    /** A request builder authenticated as {@code who}. */
    public HttpRequest.Builder as(String who, String path) {
        return HttpRequest.newBuilder(uri(path)).header("Authorization", "Bearer " + key(who));
    }

    /**
     * An MCP message POSTed as {@code who} to {@code path}, accepting JSON or SSE; inside {@code session}
     * (its id and the protocol version in the headers) unless that is null.
     */
    public HttpRequest.Builder mcpPost(String who, String path, String session, HttpRequest.BodyPublisher body) {
        HttpRequest.Builder b = as(who, path)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .POST(body);
        if (session != null) b.header("Mcp-Session-Id", session).header("MCP-Protocol-Version", "2025-11-25");
        return b;
    }

    public Reply get(String who, String path) {
        return send(as(who, path).GET());
    }

    public Reply post(String who, String path, String json) {
        return send(as(who, path)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    public Reply submit(String who, String json) {
        return post(who, "/v1/requests", json);
    }

    /** Submits as deploy-bot and returns the new request's id. */
    public String submitted(String json) {
        Reply r = submit("deploy-bot", json);
        if (r.status() != 201) throw new AssertionError("submission failed: " + r);
        return r.json().path("id").asText();
    }

    public Reply review(String who, String id, String verdict, String reason) {
        return post(
                who,
                "/v1/requests/" + id + "/reviews",
                "{\"verdict\":\"" + verdict + "\",\"reason\":\"" + reason + "\"}");
    }

    /** The request once it reaches {@code state}, or as it is after about 20 s of waiting for it. */
    public io.countersign.core.Request awaitState(
            io.countersign.core.RequestId id, Principal viewer, io.countersign.core.RequestState state)
            throws InterruptedException {
        io.countersign.core.Request r = server().service().get(id, viewer);
        for (int i = 0; i < 20 && r.state() != state; i++)
            r = server().service().await(id, viewer, Duration.ofSeconds(1));
        return r;
    }

    /** The newest pending request {@code viewer} sees, once there is one (within 30 s). */
    public io.countersign.core.RequestId awaitPending(Principal viewer) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            List<io.countersign.core.Request> pending =
                    server().service().list(viewer, io.countersign.core.RequestState.PENDING, 10);
            if (!pending.isEmpty()) return pending.getFirst().id();
            Thread.sleep(50);
        }
        throw new AssertionError("no request became pending");
    }

    public Reply send(HttpRequest.Builder request) {
        try {
            return Reply.of(http.send(request.build(), HttpResponse.BodyHandlers.ofString()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public CompletableFuture<Reply> sendAsync(HttpRequest.Builder request) {
        return http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString())
                .thenApply(Reply::of);
    }

    @Override
    public void close() {
        server.close();
    }

    /** One HTTP response, its body read as text. */
    public record Reply(int status, java.net.http.HttpHeaders headers, String body) {
        static Reply of(HttpResponse<String> r) {
            return new Reply(r.statusCode(), r.headers(), r.body());
        }

        public JsonNode json() {
            try {
                return Json.mapper().readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        public String header(String name) {
            return headers.firstValue(name).orElse(null);
        }

        /** The problem type's slug, e.g. {@code owner-review}; empty unless the body is problem+json. */
        public String problem() {
            String contentType = header("Content-Type");
            if (contentType == null || !contentType.startsWith(Problem.MEDIA_TYPE)) return "";
            String type = json().path("type").asText();
            return type.startsWith(Problem.TYPE_PREFIX) ? type.substring(Problem.TYPE_PREFIX.length()) : "";
        }

        public String state() {
            return json().path("state").asText();
        }
    }
}
