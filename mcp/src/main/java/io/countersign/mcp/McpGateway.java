package io.countersign.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Principal;
import io.countersign.core.RequestService;
import io.countersign.core.Resource;
import io.countersign.core.ToolPins;
import io.countersign.core.policy.Policy;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MCP gateway: the configured upstream MCP servers, the agents' sessions with them, and the
 * services a session needs (the request service, the tool pins, the policy). Transport-neutral: the
 * server mounts it at {@code /mcp/{upstream}} over Streamable HTTP.
 *
 * <p>Sessions are created by an agent's {@code initialize} and bound to that agent: a session id
 * presented with another agent's credential is not found. A session idle for {@link #IDLE} ends,
 * and its upstream with it.
 */
public final class McpGateway implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(McpGateway.class);
    /** The protocol versions the gateway speaks with a session (initialize handshake). */
    public static final List<String> SESSION_VERSIONS = List.of("2025-11-25", "2025-06-18", "2025-03-26");
    /** The stateless revision: relayed only to upstreams that accept it. */
    public static final String STATELESS_VERSION = "2026-07-28";

    static final Duration IDLE = Duration.ofMinutes(30);

    private final McpConfig config;
    private final RequestService service;
    private final ToolPins pins;
    private final Policy policy;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, GatewaySession> sessions = new ConcurrentHashMap<>();
    /** Per upstream: whether it accepts the stateless revision, and when it was asked (System.nanoTime). */
    private final Map<String, Probe> acceptsStateless = new ConcurrentHashMap<>();

    private record Probe(boolean accepts, long at) {}

    /** How long a "no" stands before the upstream is asked again (it may have been down, or upgraded). */
    private static final long REPROBE_NANOS = Duration.ofSeconds(30).toNanos();

    private final ScheduledExecutorService sweeper;
    private final Outcomes outcomes;

    public McpGateway(McpConfig config, RequestService service, ToolPins pins, Policy policy, Clock clock) {
        this.config = config;
        this.service = service;
        this.pins = pins;
        this.policy = policy;
        this.clock = clock;
        this.outcomes = new Outcomes(service);
        this.sweeper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform()
                .name("countersign-mcp-sessions")
                .daemon(true)
                .factory());
        sweeper.scheduleWithFixedDelay(this::endIdle, 1, 1, TimeUnit.MINUTES);
    }

    public McpConfig config() {
        return config;
    }

    RequestService service() {
        return service;
    }

    Outcomes outcomes() {
        return outcomes;
    }

    ToolPins pins() {
        return pins;
    }

    Policy policy() {
        return policy;
    }

    Clock clock() {
        return clock;
    }

    public Optional<McpConfig.Upstream> upstream(String name) {
        return Optional.ofNullable(config.upstreams().get(name));
    }

    /** A new session of {@code agent} with {@code upstream}; its id is 128 random bits. */
    public GatewaySession open(McpConfig.Upstream upstream, Principal agent) {
        byte[] b = new byte[16];
        random.nextBytes(b);
        String id = HexFormat.of().formatHex(b);
        GatewaySession s = new GatewaySession(id, this, upstream, agent, false);
        sessions.put(id, s);
        return s;
    }

    /** The session with this id, if it exists and belongs to {@code agent} with {@code upstream}. */
    public Optional<GatewaySession> session(String id, McpConfig.Upstream upstream, Principal agent) {
        GatewaySession s = id == null ? null : sessions.get(id);
        if (s == null || !s.agent().id().equals(agent.id()) || s.upstream() != upstream) return Optional.empty();
        return Optional.of(s);
    }

    /** Ends a session and its upstream. */
    public void end(GatewaySession s) {
        sessions.remove(s.id());
        s.close();
    }

    public int sessionCount() {
        return sessions.size();
    }

    /**
     * Handles one request of the stateless revision (2026-07-28): relayed, tool calls intercepted as
     * always, if the upstream accepts that revision; otherwise the specification's unsupported-version
     * error, listing the versions the gateway speaks. Returns the response, or null when the upstream
     * accepts the revision (the request was then handled and answered through {@code reply}).
     */
    public ObjectNode stateless(McpConfig.Upstream upstream, Principal agent, JsonNode message, Outbound reply) {
        String requested = message.path("params")
                .path("_meta")
                .path("io.modelcontextprotocol/protocolVersion")
                .asText(STATELESS_VERSION);
        boolean accepts = acceptsStateless(upstream);
        if (!requested.equals(STATELESS_VERSION) || !accepts) {
            ObjectNode data = JsonNodeFactory.instance.objectNode();
            ArrayNode supported = data.putArray("supported");
            if (accepts) supported.add(STATELESS_VERSION); // the versions this endpoint serves, whatever was asked
            SESSION_VERSIONS.forEach(supported::add);
            data.put("requested", requested);
            return JsonRpc.error(
                    message.get("id"), JsonRpc.UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version", data);
        }
        try (GatewaySession s = new GatewaySession("stateless", this, upstream, agent, true)) {
            s.handle(message, reply);
        }
        return null;
    }

    /**
     * Whether the upstream answers {@code server/discover} of the stateless revision: a yes is kept, a
     * no is asked again after {@link #REPROBE_NANOS} (the upstream may have been down, or upgraded).
     */
    private boolean acceptsStateless(McpConfig.Upstream upstream) {
        return acceptsStateless
                .compute(
                        upstream.name(),
                        (n, known) ->
                                known != null && (known.accepts() || System.nanoTime() - known.at() < REPROBE_NANOS)
                                        ? known
                                        : new Probe(probe(upstream), System.nanoTime()))
                .accepts();
    }

    private boolean probe(McpConfig.Upstream upstream) {
        ObjectNode params = JsonNodeFactory.instance.objectNode();
        ObjectNode meta = params.putObject("_meta");
        meta.put("io.modelcontextprotocol/protocolVersion", STATELESS_VERSION);
        meta.putObject("io.modelcontextprotocol/clientInfo")
                .put("name", "countersign")
                .put("version", "0.1");
        meta.putObject("io.modelcontextprotocol/clientCapabilities");
        try (GatewaySession s = new GatewaySession("probe", this, upstream, null, true)) {
            ObjectNode r = s.callOwn("server/discover", params);
            JsonNode versions = r.path("result").path("supportedVersions");
            boolean yes = false;
            for (JsonNode v : versions) yes |= STATELESS_VERSION.equals(v.asText());
            LOG.info(
                    "MCP server {} {} the stateless revision {}",
                    upstream.name(),
                    yes ? "accepts" : "does not accept",
                    STATELESS_VERSION);
            return yes;
        } catch (RuntimeException e) {
            LOG.info("MCP server {} does not accept the stateless revision ({})", upstream.name(), e.getMessage());
            return false;
        }
    }

    /** Opens a connection to the upstream, or throws {@link GatewaySession.UpstreamException}. */
    UpstreamConnection connect(McpConfig.Upstream upstream, UpstreamConnection.Listener listener) {
        if (!upstream.isStdio()) {
            try {
                return new HttpUpstream(upstream, listener, config.requestTimeout());
            } catch (IllegalArgumentException e) {
                throw new GatewaySession.UpstreamException("the MCP server " + upstream.name() + ": " + e.getMessage());
            }
        }
        try {
            return StdioUpstream.start(upstream, listener, config.logPayloads());
        } catch (IOException e) {
            LOG.error("cannot start MCP server {}: {}", upstream.name(), e.getMessage());
            throw new GatewaySession.UpstreamException("the MCP server " + upstream.name() + " cannot be started");
        }
    }

    /** The resource a call to {@code tool} acts on: {@code mcp_tool} {@code upstream/tool}, env and tags from config. */
    Resource resource(McpConfig.Upstream upstream, String tool) {
        List<String> tags = new ArrayList<>(upstream.tags());
        tags.addAll(upstream.toolTags().getOrDefault(tool, List.of()));
        return new Resource("mcp_tool", upstream.name() + "/" + tool, upstream.env(), tags, null);
    }

    private void endIdle() {
        for (GatewaySession s : sessions.values()) {
            if (s.idleNanos() > IDLE.toNanos()) {
                LOG.info(
                        "MCP session {} of {} with {} idle for {}; ended",
                        s.id(),
                        s.agent().id(),
                        s.upstream().name(),
                        IDLE);
                end(s);
            }
        }
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
        sessions.values().forEach(GatewaySession::close);
        sessions.clear();
        outcomes.close();
    }
}
