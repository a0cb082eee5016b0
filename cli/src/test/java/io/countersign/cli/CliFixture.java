package io.countersign.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.json.Json;
import io.countersign.core.testing.MutableClock;
import io.countersign.server.CountersignServer;
import io.countersign.server.config.DemoIdentities;
import io.countersign.server.config.ServerConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** A real server on port 0 with the demo cast, and {@link Main#run} with its output captured. */
final class CliFixture implements AutoCloseable {
    static final Path POLICY = Path.of("..", "examples", "policy.yaml");

    private final Map<String, String> keys = new HashMap<>();
    private final CountersignServer server;

    CliFixture(Path dataDir) {
        this(dataDir, POLICY, null);
    }

    /** A server on {@code policy} whose MCP gateway fronts {@code mcp}'s upstreams. */
    CliFixture(Path dataDir, Path policy, io.countersign.mcp.McpConfig mcp) {
        List<ServerConfig.Identity> identities = DemoIdentities.withNewKeys(keys, p -> ServerConfig.Links.NONE);
        ServerConfig config = ServerConfig.local(dataDir, policy, identities).withMcp(mcp);
        server = CountersignServer.start(config, new MutableClock(Instant.parse("2025-03-03T09:00:00Z")));
    }

    CountersignServer server() {
        return server;
    }

    /** Runs a client command as {@code who} against this server. */
    Run as(String who, String... args) {
        String[] connection = {"--server", "http://127.0.0.1:" + server.port(), "--key", keys.get(who)};
        return run(Stream.concat(Stream.of(args), Stream.of(connection)).toArray(String[]::new));
    }

    /** Runs {@code countersign args...}, capturing what it prints. */
    static Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try (PrintStream po = new PrintStream(o, true, StandardCharsets.UTF_8);
                PrintStream pe = new PrintStream(e, true, StandardCharsets.UTF_8)) {
            System.setOut(po);
            System.setErr(pe);
            int code = Main.run(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    /** GETs a request's evidence (which signs a checkpoint covering it) and returns the status code. */
    int evidence(String who, String id) {
        try {
            var http = java.net.http.HttpClient.newHttpClient();
            var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                            "http://127.0.0.1:" + server.port() + "/v1/requests/" + id + "/evidence"))
                    .header("Authorization", "Bearer " + keys.get(who))
                    .build();
            return http.send(req, java.net.http.HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The server's port. */
    int port() {
        return server.port();
    }

    /** The API key of {@code who}. */
    String key(String who) {
        return keys.get(who);
    }

    @Override
    public void close() {
        server.close();
    }

    /** What one run of the command line did. */
    record Run(int exitCode, String out, String err) {
        JsonNode json() {
            try {
                return Json.mapper().readTree(out);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + out, e);
            }
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- out\n" + out + "--- err\n" + err;
        }
    }
}
