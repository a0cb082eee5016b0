package io.countersign.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Action;
import io.countersign.core.ActionRequest;
import io.countersign.core.Outcome;
import io.countersign.core.Principal;
import io.countersign.core.Request;
import io.countersign.core.RequestService;
import io.countersign.core.Resource;
import io.countersign.core.json.Json;
import io.countersign.mcp.McpConfig;
import io.countersign.server.CountersignServer;
import io.countersign.server.config.DemoIdentities;
import io.countersign.server.config.ServerConfig;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * The latency the MCP gateway adds to an allowed {@code tools/call}: the reference "everything"
 * server's {@code echo} called directly and through Countersign's {@code /mcp/everything}, in the
 * same run, one call at a time, direct and gateway calls interleaved (the order swapped every call)
 * so that both see the same machine. The goal: at most 0.5 ms added at p99.
 *
 * <p>With {@code --upstream http} (the default) one Node.js process serves the everything server
 * over Streamable HTTP; the direct agent and the gateway each hold a session with it, and both agents
 * are the same JDK-HttpClient Streamable HTTP code, so the difference is the gateway alone. With
 * {@code --upstream stdio} the gateway runs the server as its child process and the direct agent runs
 * another one it drives over stdio, so "added" then includes the agent's HTTP hop to Countersign.
 *
 * <p>Countersign runs in this JVM (loopback, port 0, fresh SQLite with synchronous=FULL) on a policy
 * that allows {@code everything/echo}: each gateway call makes one durable write before it is
 * forwarded (the request submitted, decided and its grant redeemed, in one transaction, carrying the
 * previous call's outcome), then forwards it. Afterwards that write is timed alone through the request
 * service, and so is a bare fsync in the same directory: the floor under the added latency.
 */
public final class McpLatency {
    private static final Set<String> FLAGS =
            Set.of("calls", "warmup", "upstream", "writes", "data", "servers", "timeout");
    private static final String UPSTREAM = "everything";
    private static final String AGENT = "deploy-bot";
    private static final String POLICY = """
            # McpLatency's policy: the everything server's echo tool runs without review; nothing else does.
            version: 1
            default: { decision: deny, reason: not covered by the MCP latency benchmark's policy }
            rules:
              - name: echo-is-fine
                match: action.type == "mcp.tool" && resource.id == "everything/echo"
                decision: allow
            """;

    enum Transport {
        HTTP,
        STDIO
    }

    private final int calls;
    private final int warmup;
    private final int writes;
    private final Transport transport;
    private final Optional<Path> data;
    private final Path servers;
    private final Duration timeout;

    private McpLatency(Flags flags) {
        this.calls = flags.count("calls", 5000, 1);
        this.warmup = flags.count("warmup", 1000, 0);
        this.writes = flags.count("writes", 1000, 0);
        this.transport = flags.choice("upstream", Transport.HTTP);
        this.data = Optional.ofNullable(flags.text("data", null)).map(Path::of);
        this.servers = flags.has("servers") ? Path.of(flags.text("servers", null)) : defaultServers();
        this.timeout = flags.duration("timeout", Duration.ofSeconds(30));
    }

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--help")) {
            System.out.println(help());
            return;
        }
        McpLatency bench;
        try {
            bench = new McpLatency(new Flags(args, FLAGS));
        } catch (IllegalArgumentException e) {
            System.err.println("mcp: " + e.getMessage());
            System.exit(2);
            return;
        }
        try {
            bench.run();
        } catch (BenchFailure e) {
            System.err.println("mcp: " + e.getMessage());
            System.exit(1);
        }
        System.exit(0);
    }

    private void run() throws Exception {
        List<String> node = List.of("node", everythingScript().toString());
        try (NodeHttpServer http = transport == Transport.HTTP ? NodeHttpServer.start(node, timeout) : null) {
            McpConfig.Upstream upstream = http != null
                    ? new McpConfig.Upstream(UPSTREAM, null, null, http.endpoint(), null, null, null, null)
                    : new McpConfig.Upstream(UPSTREAM, plus(node, "stdio"), null, null, null, null, null, null);
            try (Countersign cs = Countersign.start(upstream, data, timeout);
                    AgentSession direct = http != null
                            ? new StreamableHttpAgent(http.endpoint(), null, timeout)
                            : StdioAgent.start(plus(node, "stdio"));
                    AgentSession gateway =
                            new StreamableHttpAgent(cs.url().resolve("/mcp/" + UPSTREAM), cs.agentKey(), timeout)) {
                direct.open();
                gateway.open();
                printHeader(http, cs);
                compare(direct, gateway, cs);
                if (writes > 0) breakdown(cs);
            }
        }
    }

    private void printHeader(NodeHttpServer http, Countersign cs) {
        String how = http != null
                ? "upstream: everything server over Streamable HTTP at " + http.endpoint()
                        + "; direct and gateway agents: the same JDK HttpClient Streamable HTTP client"
                : "upstream: everything server over stdio (the gateway's child process; the direct agent"
                        + " drives its own); direct agent over stdio, gateway agent over Streamable HTTP";
        System.out.printf(
                Locale.ROOT,
                "McpLatency: tools/call echo, direct vs through Countersign %s (in-process, SQLite"
                        + " synchronous=FULL at %s)%n%s%n%d warm-up + %d measured calls each, interleaved,"
                        + " one at a time; %s%n",
                cs.url().resolve("/mcp/" + UPSTREAM),
                cs.database(),
                how,
                warmup,
                calls,
                Report.load());
    }

    /** Warm-up, then the measured calls; direct and gateway alternate which goes first. */
    private void compare(AgentSession direct, AgentSession gateway, Countersign cs) {
        Histogram d = Report.micros();
        Histogram g = Report.micros();
        for (int i = 0; i < warmup; i++) {
            pair(direct, gateway, i, d, g);
            // The server's /metrics route, first met in the warm-up: met first at the start of the
            // measured calls, it deoptimised the hottest compiled request path there (see HttpLoad).
            if (i == warmup / 2) cs.scrape();
            if ((i + 1) % 1000 == 0 || i + 1 == warmup)
                System.out.printf(Locale.ROOT, "  warm-up %d/%d%n", i + 1, warmup);
        }
        d.reset();
        g.reset();
        Scrape before = cs.scrape();
        var gc = Report.GcTotals.now();
        long cpu0 = Report.processCpuNanos();
        long t0 = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            pair(direct, gateway, warmup + i, d, g);
            if ((i + 1) % 1000 == 0 || i + 1 == calls) progress(i + 1, d, g);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long cpu1 = Report.processCpuNanos();
        print(d, g);
        System.out.println("server:   " + serverSide(before, cs.scrape()));
        System.out.printf(
                Locale.ROOT,
                "run:      %.1f s measured; this JVM (clients and Countersign) used %.2f cores; %s; %s%n",
                seconds,
                cpu0 < 0 ? Double.NaN : (cpu1 - cpu0) / 1e9 / seconds,
                Report.GcTotals.now().since(gc),
                Report.load());
    }

    private static void pair(AgentSession direct, AgentSession gateway, int i, Histogram d, Histogram g) {
        if (i % 2 == 0) {
            d.recordValue(echo(direct, "direct", i));
            g.recordValue(echo(gateway, "gateway", i));
        } else {
            g.recordValue(echo(gateway, "gateway", i));
            d.recordValue(echo(direct, "direct", i));
        }
    }

    /** One echo call; its latency in microseconds. A failed call stops the run: its latency would mean nothing. */
    private static long echo(AgentSession agent, String which, int i) {
        String message = which + " call " + i;
        ObjectNode params = Json.mapper().createObjectNode().put("name", "echo");
        params.putObject("arguments").put("message", message);
        long t0 = System.nanoTime();
        ObjectNode response = agent.request("tools/call", params);
        long micros = Math.max(1, (System.nanoTime() - t0) / 1000);
        JsonNode result = response.path("result");
        if (result.path("isError").asBoolean(false)
                || !result.path("content").path(0).path("text").asText().equals("Echo: " + message))
            throw new BenchFailure(which + " call " + i + " did not echo: " + response);
        return micros;
    }

    private static void progress(int done, Histogram d, Histogram g) {
        System.out.printf(
                Locale.ROOT,
                "  %6d calls  direct p50 %s p99 %s   gateway p50 %s p99 %s  (ms)%n",
                done,
                ms(d.getValueAtPercentile(50)),
                ms(d.getValueAtPercentile(99)),
                ms(g.getValueAtPercentile(50)),
                ms(g.getValueAtPercentile(99)));
    }

    private static void print(Histogram d, Histogram g) {
        long added50 = g.getValueAtPercentile(50) - d.getValueAtPercentile(50);
        long added99 = g.getValueAtPercentile(99) - d.getValueAtPercentile(99);
        System.out.println();
        System.out.println("direct:   " + latencies(d));
        System.out.println("gateway:  " + latencies(g));
        System.out.printf(
                Locale.ROOT,
                "added:    p50 %s ms  p99 %s ms  (gateway - direct, percentile by percentile)%n",
                signedMs(added50),
                signedMs(added99));
        System.out.printf(
                Locale.ROOT, "ratio:    p50 %.2fx  p99 %.2fx  (gateway / direct)%n", ratio(g, d, 50), ratio(g, d, 99));
        System.out.printf(
                Locale.ROOT,
                "goal:     added p99 <= 0.5 ms: %s (%s ms)%n",
                added99 <= 500 ? "met" : "NOT MET",
                signedMs(added99));
    }

    private static String latencies(Histogram h) {
        return String.format(
                Locale.ROOT,
                "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (ms, %d calls)",
                ms(h.getValueAtPercentile(50)),
                ms(h.getValueAtPercentile(90)),
                ms(h.getValueAtPercentile(99)),
                ms(h.getValueAtPercentile(99.9)),
                ms(h.getMaxValue()),
                h.getTotalCount());
    }

    private static double ratio(Histogram g, Histogram d, double percentile) {
        return (double) g.getValueAtPercentile(percentile) / Math.max(1, d.getValueAtPercentile(percentile));
    }

    private static String ms(long micros) {
        return String.format(Locale.ROOT, "%.3f", micros / 1000.0);
    }

    private static String signedMs(long micros) {
        return String.format(Locale.ROOT, "%+.3f", micros / 1000.0);
    }

    /** Store writes and commits per gateway call, and the mean time of a POST in Countersign's handler. */
    private String serverSide(Scrape before, Scrape after) {
        double writesPerCall = delta(before, after, Scrape.WRITES) / calls;
        double commitsPerCall = delta(before, after, Scrape.COMMITS) / calls;
        String sum = "countersign_http_requests_seconds_sum";
        String count = "countersign_http_requests_seconds_count";
        String[] post = {"method=\"POST\"", "status=\"200\""};
        double posts = find(after, count, post) - find(before, count, post);
        double seconds = find(after, sum, post) - find(before, sum, post);
        return String.format(
                Locale.ROOT,
                "%.2f store writes in %.2f commits per gateway call; mean POST /mcp in Countersign %.3f ms"
                        + " (upstream round trip included); policy decision p99 %.1f us",
                writesPerCall,
                commitsPerCall,
                posts == 0 ? Double.NaN : seconds / posts * 1000,
                after.find("countersign_policy_decision_seconds", "quantile=\"0.99\"")
                                .orElse(Double.NaN)
                        * 1e6);
    }

    private static double delta(Scrape before, Scrape after, String key) {
        return after.get(key).orElse(Double.NaN) - before.get(key).orElse(Double.NaN);
    }

    private static double find(Scrape s, String name, String... labels) {
        return s.find(name, labels).orElse(Double.NaN);
    }

    /**
     * The floor under the added latency, timed alone: the gateway's one durable write per call
     * (submitToRunNow, policy decision included, carrying the previous call's outcome as the gateway
     * does) through the same request service and store, with no HTTP and no upstream; then a bare
     * 4 KiB write + fsync in the database's directory, what synchronous=FULL waits for in each commit.
     */
    private void breakdown(Countersign cs) throws IOException {
        RequestService service = cs.server().service();
        Principal agent = cs.agent();
        Histogram carrying = Report.micros();
        Histogram alone = Report.micros();
        RequestService.OutcomeReport waiting = null;
        for (int i = 0; i < writes; i++) { // alternately, so that both kinds see the same machine
            Request r = waiting == null
                    ? timedWrite(service, agent, i, List.of(), alone)
                    : timedWrite(service, agent, i, List.of(waiting), carrying);
            RequestService.OutcomeReport outcome = new RequestService.OutcomeReport(
                    r.id(), agent, new Outcome(Outcome.Status.EXECUTED, "0".repeat(64), null, Instant.now()));
            if (waiting == null) {
                waiting = outcome; // carried by the next write
            } else {
                service.reportOutcomes(List.of(outcome));
                waiting = null;
            }
        }
        if (waiting != null) service.reportOutcomes(List.of(waiting));
        Histogram fsync = fsyncAlone(cs.database().getParent(), writes);
        System.out.println();
        System.out.printf(Locale.ROOT, "the floor, timed alone afterwards (%s):%n", Report.load());
        System.out.println("  gateway write: " + latencies(carrying) + "; carrying an earlier call's outcome");
        System.out.println("  no outcome:    " + latencies(alone) + "; the same write carrying none");
        System.out.println("  fsync alone:   " + latencies(fsync));
    }

    private Request timedWrite(
            RequestService service, Principal agent, int i, List<RequestService.OutcomeReport> carried, Histogram h) {
        long t0 = System.nanoTime();
        Request r =
                service.submitToRunNow(agent, echoAction("write " + i), carried).request();
        h.recordValue(Math.max(1, (System.nanoTime() - t0) / 1000));
        return r;
    }

    /** {@code n} times: 4 KiB written at the end of a file, then fsync (FileChannel.force), as a WAL commit does. */
    private static Histogram fsyncAlone(Path dir, int n) throws IOException {
        Histogram h = Report.micros();
        Path file = dir.resolve("fsync-probe");
        ByteBuffer page = ByteBuffer.allocate(4096);
        try (FileChannel ch = FileChannel.open(
                file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            for (int i = 0; i < n; i++) {
                ch.write(page.clear(), (long) (i % 256) * 4096);
                long t0 = System.nanoTime();
                ch.force(false);
                h.recordValue(Math.max(1, (System.nanoTime() - t0) / 1000));
            }
        } finally {
            Files.deleteIfExists(file);
        }
        return h;
    }

    private static ActionRequest echoAction(String message) {
        ObjectNode params = Json.mapper().createObjectNode().put("message", message);
        ObjectNode context = Json.mapper().createObjectNode().put("mcp_session", "bench");
        return new ActionRequest(
                new Action("mcp.tool", params),
                new Resource("mcp_tool", UPSTREAM + "/echo", null, List.of(), null),
                null,
                null,
                context);
    }

    /** The everything server's script, after {@code npm ci} in the servers directory if it is not installed. */
    private Path everythingScript() throws IOException, InterruptedException {
        Path script = servers.resolve("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
        if (Files.isRegularFile(script)) return script;
        if (!Files.isRegularFile(servers.resolve("package.json")))
            throw new BenchFailure("no MCP servers at " + servers + "; give --servers interop/mcp-servers");
        System.out.println("mcp: running 'npm ci' in " + servers);
        Process p = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund")
                .directory(servers.toFile())
                .inheritIO()
                .start();
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0 || !Files.isRegularFile(script))
            throw new BenchFailure("'npm ci' in " + servers + " failed; run it by hand to see why");
        return script;
    }

    /** interop/mcp-servers of the checkout this jar was built in (bench/target/countersign-bench.jar). */
    private static Path defaultServers() {
        try {
            Path code = Path.of(McpLatency.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
            Path root = code.getParent().getParent().getParent();
            Path dir = root.resolve("interop/mcp-servers");
            if (Files.isDirectory(dir)) return dir;
        } catch (java.net.URISyntaxException | RuntimeException e) {
            // fall back to the working directory
        }
        return Path.of("interop", "mcp-servers").toAbsolutePath();
    }

    private static List<String> plus(List<String> command, String arg) {
        List<String> out = new ArrayList<>(command);
        out.add(arg);
        return List.copyOf(out);
    }

    private static String help() {
        return """
                Usage: bench/run mcp [options]

                Added latency of an allowed MCP tools/call (the reference everything server's
                echo) through Countersign's gateway against the same upstream called directly,
                in the same run: warm-up, then direct and gateway calls interleaved, one at a
                time. Prints p50/p90/p99/p99.9/max of each, the added latency (gateway - direct)
                at p50 and p99, the ratio, and the goal: added p99 <= 0.5 ms. Then times the
                gateway's one durable write per call, and a bare fsync, alone: the floor.

                Countersign runs in this JVM on 127.0.0.1, port 0, with a fresh temporary SQLite
                database (synchronous=FULL) and a policy allowing everything/echo; the upstream
                is Node.js (interop/mcp-servers, 'npm ci' is run there if needed).

                Options (defaults in brackets):
                  --calls N           measured calls, each of direct and gateway [5000]
                  --warmup N          warm-up calls, each, not measured [1000]
                  --upstream T        http: one everything server over Streamable HTTP, called by
                                      the same JDK HttpClient code directly and through the gateway;
                                      stdio: the gateway's child process against one the bench drives
                                      over stdio (added then includes the agent's HTTP hop) [http]
                  --writes N          gateway writes (half carrying an outcome) and fsyncs timed
                                      alone afterwards, 0 for none [1000]
                  --data DIR          where the temporary data directory is made [the system temp dir];
                                      e.g. /dev/shm to see the cost of the disk's fsync apart from the rest
                  --servers DIR       the npm MCP servers [interop/mcp-servers of this checkout]
                  --timeout D         per-call timeout [30s]
                Durations are written like 500ms, 20s, 1m.
                """;
    }

    /** The benchmark cannot go on: an upstream did not start or a call failed. */
    static final class BenchFailure extends RuntimeException {
        BenchFailure(String message) {
            super(message);
        }
    }

    /** The agent's side of one MCP session. */
    private interface AgentSession extends AutoCloseable {
        /** Sends a request and returns its response, skipping anything else the server sends first. */
        ObjectNode request(String method, ObjectNode params);

        void notify(String method);

        /** initialize, notifications/initialized, then tools/list, which must list echo. */
        default void open() {
            ObjectNode init = Json.mapper().createObjectNode().put("protocolVersion", "2025-11-25");
            init.putObject("capabilities");
            init.putObject("clientInfo").put("name", "countersign-bench").put("version", "0.1");
            ObjectNode r = request("initialize", init);
            if (!r.has("result")) throw new BenchFailure("initialize failed: " + r);
            notify("notifications/initialized");
            JsonNode tools = request("tools/list", Json.mapper().createObjectNode())
                    .path("result")
                    .path("tools");
            for (JsonNode t : tools) if (t.path("name").asText().equals("echo")) return;
            throw new BenchFailure("tools/list has no echo: " + tools);
        }

        @Override
        void close();
    }

    private static ObjectNode message(long id, String method, ObjectNode params) {
        ObjectNode m = Json.mapper().createObjectNode().put("jsonrpc", "2.0");
        if (id >= 0) m.put("id", id);
        m.put("method", method);
        if (params != null) m.set("params", params);
        return m;
    }

    private static ObjectNode parse(String text) {
        try {
            return (ObjectNode) Json.mapper().readTree(text);
        } catch (IOException | ClassCastException e) {
            throw new BenchFailure("not a JSON-RPC message: " + text);
        }
    }

    private static boolean answers(ObjectNode m, long id) {
        return m.path("id").canConvertToLong() && m.path("id").asLong() == id && (m.has("result") || m.has("error"));
    }

    /**
     * Streamable HTTP with the JDK's HttpClient (HTTP/1.1, keep-alive): each message a POST; the
     * answer one JSON object or an SSE stream ending with the response, read to its end so that the
     * connection is reused.
     */
    private static final class StreamableHttpAgent implements AgentSession {
        private final HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        private final URI endpoint;
        private final String key;
        private final Duration timeout;
        private String sessionId;
        private String protocolVersion;
        private long nextId = 1;

        StreamableHttpAgent(URI endpoint, String key, Duration timeout) {
            this.endpoint = endpoint;
            this.key = key;
            this.timeout = timeout;
        }

        @Override
        public ObjectNode request(String method, ObjectNode params) {
            long id = nextId++;
            HttpResponse<InputStream> r = send(post(message(id, method, params)));
            try (InputStream body = r.body()) {
                if (r.statusCode() != 200)
                    throw new BenchFailure(method + " to " + endpoint + ": HTTP " + r.statusCode() + " "
                            + new String(body.readAllBytes(), StandardCharsets.UTF_8));
                if (sessionId == null)
                    sessionId = r.headers().firstValue("Mcp-Session-Id").orElse(null);
                boolean events =
                        r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream");
                ObjectNode response =
                        events ? fromEvents(body, id) : parse(new String(body.readAllBytes(), StandardCharsets.UTF_8));
                body.transferTo(OutputStream.nullOutputStream());
                if (protocolVersion == null && response.path("result").has("protocolVersion"))
                    protocolVersion =
                            response.path("result").path("protocolVersion").asText();
                return response;
            } catch (IOException e) {
                throw new UncheckedIOException(method + " to " + endpoint, e);
            }
        }

        @Override
        public void notify(String method) {
            HttpResponse<InputStream> r = send(post(message(-1, method, null)));
            try (InputStream body = r.body()) {
                body.transferTo(OutputStream.nullOutputStream());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (r.statusCode() / 100 != 2)
                throw new BenchFailure(method + " to " + endpoint + ": HTTP " + r.statusCode());
        }

        private HttpRequest post(ObjectNode m) {
            HttpRequest.Builder b = HttpRequest.newBuilder(endpoint)
                    .timeout(timeout)
                    .header("Content-Type", "application/json")
                    .header("Accept", "application/json, text/event-stream")
                    .POST(HttpRequest.BodyPublishers.ofString(m.toString()));
            if (key != null) b.header("Authorization", "Bearer " + key);
            if (sessionId != null) b.header("Mcp-Session-Id", sessionId);
            if (protocolVersion != null) b.header("MCP-Protocol-Version", protocolVersion);
            return b.build();
        }

        private HttpResponse<InputStream> send(HttpRequest request) {
            try {
                return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            } catch (IOException e) {
                throw new UncheckedIOException("POST " + endpoint, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BenchFailure("interrupted");
            }
        }

        /** The {@code data:} of each SSE event until the response to {@code id}. */
        private static ObjectNode fromEvents(InputStream body, long id) throws IOException {
            BufferedReader in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
            StringBuilder data = new StringBuilder();
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.startsWith("data:")) {
                    data.append(line.startsWith("data: ") ? line.substring(6) : line.substring(5));
                } else if (line.isEmpty() && !data.isEmpty()) {
                    ObjectNode m = parse(data.toString());
                    if (answers(m, id)) return m;
                    data.setLength(0);
                }
            }
            throw new BenchFailure("the event stream ended without the response to request " + id);
        }

        @Override
        public void close() {
            if (sessionId == null) return;
            HttpRequest.Builder b = HttpRequest.newBuilder(endpoint)
                    .timeout(Duration.ofSeconds(5))
                    .header("Mcp-Session-Id", sessionId)
                    .DELETE();
            if (key != null) b.header("Authorization", "Bearer " + key);
            try {
                http.send(b.build(), HttpResponse.BodyHandlers.discarding());
            } catch (IOException e) {
                // the server is going away too
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            http.close();
        }
    }

    /** The MCP stdio transport: a child process, one JSON-RPC message per line each way. */
    private static final class StdioAgent implements AgentSession {
        private final Process process;
        private final BufferedWriter out;
        private final BufferedReader in;
        private long nextId = 1;

        private StdioAgent(Process process) {
            this.process = process;
            this.out = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
            this.in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        static StdioAgent start(List<String> command) throws IOException {
            Process p = new ProcessBuilder(command)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            return new StdioAgent(p);
        }

        @Override
        public ObjectNode request(String method, ObjectNode params) {
            long id = nextId++;
            write(message(id, method, params));
            try {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (line.isBlank()) continue;
                    ObjectNode m = parse(line);
                    if (answers(m, id)) return m;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            throw new BenchFailure("the stdio MCP server exited during " + method);
        }

        @Override
        public void notify(String method) {
            write(message(-1, method, null));
        }

        private void write(ObjectNode m) {
            try {
                out.write(m.toString());
                out.write('\n');
                out.flush();
            } catch (IOException e) {
                throw new BenchFailure("the stdio MCP server is gone: " + e.getMessage());
            }
        }

        @Override
        public void close() {
            stop(process);
        }
    }

    /** Asks {@code process} to end, and ends it if it has not within 2 s. */
    private static void stop(Process process) {
        process.destroy();
        try {
            if (!process.waitFor(2, TimeUnit.SECONDS)) process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The everything server in Streamable HTTP mode on a free loopback port (it reads {@code PORT}
     * and logs every request to stdout, which is discarded); started when it says it listens.
     */
    private record NodeHttpServer(Process process, URI endpoint) implements AutoCloseable {
        static NodeHttpServer start(List<String> node, Duration timeout) throws IOException, InterruptedException {
            int port = freePort();
            ProcessBuilder pb =
                    new ProcessBuilder(plus(node, "streamableHttp")).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("PORT", Integer.toString(port));
            Process p = pb.start();
            CountDownLatch listening = new CountDownLatch(1);
            StringBuilder said = new StringBuilder();
            Thread.ofVirtual().start(() -> readStderr(p, listening, said));
            if (!listening.await(timeout.toMillis(), TimeUnit.MILLISECONDS) || !p.isAlive()) {
                p.destroyForcibly();
                throw new BenchFailure("the everything server did not start on port " + port + " within "
                        + timeout.toSeconds() + "s: " + said);
            }
            return new NodeHttpServer(p, URI.create("http://127.0.0.1:" + port + "/mcp"));
        }

        private static void readStderr(Process p, CountDownLatch listening, StringBuilder said) {
            try (BufferedReader err =
                    new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line = err.readLine(); line != null; line = err.readLine()) {
                    if (listening.getCount() > 0) {
                        synchronized (said) {
                            said.append(line).append('\n');
                        }
                    }
                    if (line.contains("listening on port")) listening.countDown();
                }
            } catch (IOException e) {
                // the process is gone
            }
            listening.countDown();
        }

        private static int freePort() throws IOException {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            }
        }

        @Override
        public void close() {
            stop(process);
        }
    }

    /**
     * A real Countersign in this JVM with the MCP gateway: loopback, port 0, a fresh data directory
     * (deleted on close), the demo cast with generated keys, the echo-only policy.
     */
    private static final class Countersign implements AutoCloseable {
        private final Path dir;
        private final CountersignServer server;
        private final Principal agent;
        private final String agentKey;
        private final HttpClient http =
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

        private Countersign(Path dir, McpConfig mcp) throws IOException {
            this.dir = dir;
            Path policy = Files.writeString(dir.resolve("mcp-latency-policy.yaml"), POLICY);
            Map<String, String> keys = new HashMap<>();
            List<ServerConfig.Identity> identities = DemoIdentities.withNewKeys(keys, p -> ServerConfig.Links.NONE);
            this.agent = DemoIdentities.principals().stream()
                    .filter(p -> p.id().equals(AGENT))
                    .findFirst()
                    .orElseThrow();
            this.agentKey = keys.get(AGENT);
            this.server = CountersignServer.start(
                    ServerConfig.local(dir.resolve("data"), policy, identities).withMcp(mcp));
        }

        static Countersign start(McpConfig.Upstream upstream, Optional<Path> under, Duration timeout)
                throws IOException {
            McpConfig mcp = new McpConfig(
                    Map.of(upstream.name(), upstream),
                    McpConfig.DEFAULT_HOLD,
                    McpConfig.DEFAULT_PROGRESS,
                    timeout,
                    false,
                    List.of());
            Path dir = under.isPresent()
                    ? Files.createTempDirectory(under.get(), "countersign-bench-")
                    : Files.createTempDirectory("countersign-bench-");
            return new Countersign(dir, mcp);
        }

        CountersignServer server() {
            return server;
        }

        URI url() {
            return URI.create("http://127.0.0.1:" + server.port());
        }

        Principal agent() {
            return agent;
        }

        String agentKey() {
            return agentKey;
        }

        Path database() {
            return dir.resolve("data").resolve("countersign.db");
        }

        Scrape scrape() {
            return Scrape.of(http, url());
        }

        @Override
        public void close() {
            server.close();
            http.close();
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                System.err.println("could not delete " + dir + ": " + e.getMessage());
            }
        }
    }
}
