package io.countersign.server;

import io.countersign.core.InvalidRequestException;
import io.countersign.core.RefusedException;
import io.countersign.core.RequestNotFoundException;
import io.countersign.core.RequestService;
import io.countersign.core.SystemEvents;
import io.countersign.core.ToolPins;
import io.countersign.core.json.NotCanonicalizableException;
import io.countersign.core.policy.Policy;
import io.countersign.core.policy.PolicyException;
import io.countersign.core.spi.RequestStore;
import io.countersign.core.spi.StorageException;
import io.countersign.mcp.McpGateway;
import io.countersign.server.channels.Channel;
import io.countersign.server.channels.ChannelContext;
import io.countersign.server.channels.ChannelRoutes;
import io.countersign.server.channels.Dispatcher;
import io.countersign.server.channels.ReviewLinks;
import io.countersign.server.config.LedgerKeys;
import io.countersign.server.config.ServerConfig;
import io.countersign.server.console.ConsoleLogin;
import io.countersign.server.identity.Identities;
import io.countersign.server.identity.OidcAuthenticator;
import io.countersign.store.LedgerIntegrityException;
import io.countersign.store.LedgerSettings;
import io.countersign.store.SqliteStore;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Countersign: the store, the policy, the request service, the expiry sweeper and the
 * HTTP API (Helidon SE; every request on its own virtual thread). {@link #start} fails fast on bad
 * config, an unreadable policy or an unusable store; {@link #close} stops all of it.
 */
public final class CountersignServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CountersignServer.class);

    private final ServerConfig config;
    private final SqliteStore store;
    private final io.countersign.ledger.VerifierKey verifierKey;
    private final RequestService service;
    private final Identities identities;
    private final OidcAuthenticator tokens;
    private final Metrics metrics;
    private final WebServer web;
    private final McpGateway mcp;
    private final Dispatcher dispatcher;
    private final ScheduledExecutorService sweeper;
    private final byte[] openApi;

    private CountersignServer(ServerConfig config, Clock clock) {
        this.config = config;
        Policy policy = loadPolicy(config);
        SecureRandom random = new SecureRandom();
        LedgerKeys.Loaded keys = LedgerKeys.load(config.ledger(), config.dataDir(), random);
        this.verifierKey = keys.key().verifierKey();
        this.store = SqliteStore.open(
                config.dataDir().resolve("countersign.db"),
                new LedgerSettings(
                        keys.key(),
                        keys.former(),
                        config.ledger().checkpointInterval(),
                        config.ledger().checkpointMaxEntries(),
                        Clock.systemUTC()));
        recordStart(policy, keys, clock);
        this.metrics = new Metrics(store);
        try {
            this.identities = Identities.of(config.identities(), store, clock);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        this.service = new RequestService(policy, store, identities, clock, random, metrics);
        metrics.bindWaiting(service);
        this.openApi = resource("openapi.yaml");
        this.tokens = config.oidc().enabled() ? OidcAuthenticator.start(config.oidc(), identities, clock) : null;
        Authenticator auth = new Authenticator(new ApiKeys(config.identities()), tokens);
        RequestsApi api = new RequestsApi(service, policy, auth, clock, config.maxWait());
        LedgerApi ledger = new LedgerApi(store, service, auth, keys.key().verifierKey());
        this.mcp = new McpGateway(config.mcp(), service, new ToolPins(store, service, clock), policy, clock);
        McpEndpoint mcpEndpoint = new McpEndpoint(mcp, auth, config.mcp().allowedOrigins());
        ChannelContext channels = channelContext(random, clock, auth);
        List<Channel> configured = Channel.configured(channels);
        // A ledger that failed its check refuses every write: nothing would be delivered or recorded.
        Dispatcher prepared =
                Dispatcher.prepare(channels, store.integrityProblem().isPresent() ? List.of() : configured, metrics);
        this.web = listen(config, r -> {
            api.routes(r);
            ledger.routes(r);
            mcpEndpoint.routes(r);
            ChannelRoutes.register(r, channels, configured);
            if (channels.signIn() instanceof ConsoleLogin console) console.routes(r);
        });
        this.dispatcher = prepared.start();
        metrics.bindDeliveries(store.outbox());
        this.sweeper = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("countersign-expiry").daemon(true).factory());
        long every = config.sweepInterval().toMillis();
        sweeper.scheduleWithFixedDelay(this::sweep, every, every, TimeUnit.MILLISECONDS);
        LOG.info(
                "Countersign listening on http://{}:{} (policy {} {})",
                config.host(),
                web.port(),
                config.policyFile(),
                policy.version());
    }

    private ChannelContext channelContext(SecureRandom random, Clock clock, Authenticator auth) {
        byte[] configuredKey = config.channels().linkSecret() == null
                ? null
                : config.channels().linkSecret().bytes();
        ReviewLinks links = new ReviewLinks(
                ReviewLinks.key(configuredKey, config.dataDir(), random), clock, store.outbox(), random);
        java.util.function.Supplier<URI> publicUrl = () -> config.channels().publicUrl() != null
                ? config.channels().publicUrl()
                : URI.create("http://" + config.host() + ":" + web.port());
        HttpClient http = HttpClient.newBuilder()
                .connectTimeout(config.channels().delivery().timeout())
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
        return new ChannelContext(
                config,
                service,
                store,
                identities,
                store.outbox(),
                links,
                publicUrl,
                auth::principal,
                ConsoleLogin.create(config, tokens, publicUrl, clock, random),
                http,
                clock);
    }

    /** The policy load (and a key rotation) are ledger events; a ledger that failed its check is shouted about. */
    private void recordStart(Policy policy, LedgerKeys.Loaded keys, Clock clock) {
        if (store.integrityProblem().isPresent()) {
            String p = store.integrityProblem().get();
            LOG.error("*** THE LEDGER FAILED ITS INTEGRITY CHECK: {} ***", p);
            LOG.error("*** Countersign serves reads only and refuses every write until this is resolved. ***");
            return;
        }
        store.write(tx -> {
            if (keys.rotatedFrom() != null)
                tx.append(SystemEvents.keyRotated(
                        keys.rotatedFrom().toString(), keys.key().verifierKey().toString(), clock.instant()));
            tx.append(SystemEvents.policyLoaded(
                    policy, config.policyFile().getFileName().toString(), clock.instant()));
            return null;
        });
    }

    private WebServer listen(ServerConfig config, java.util.function.Consumer<HttpRules> routes) {
        WebServer server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .shutdownHook(false)
                .routing(r -> routing(r, routes))
                .build()
                .start();
        if (server.port() < 0) { // Helidon reports a failed bind by logging it and leaving no port
            server.stop();
            store.close();
            throw new ServerStartException("cannot listen on " + config.host() + ":" + config.port()
                    + ": the address is in use or not available here; choose another with --port");
        }
        return server;
    }

    /** Starts a server on {@code config} with the system clock. */
    public static CountersignServer start(ServerConfig config) {
        return start(config, Clock.systemUTC());
    }

    /** Starts a server on {@code config} with {@code clock} (tests move it by hand). */
    public static CountersignServer start(ServerConfig config, Clock clock) {
        return new CountersignServer(config, clock);
    }

    public int port() {
        return web.port();
    }

    /** The ledger's verifier key, {@code name+hash+base64}. */
    public io.countersign.ledger.VerifierKey verifierKey() {
        return verifierKey;
    }

    /** Why the ledger failed its start-up check (then every write is refused), or empty. */
    public java.util.Optional<String> integrityProblem() {
        return store.integrityProblem();
    }

    public ServerConfig config() {
        return config;
    }

    /** Who is who: principals by id, and the person behind a Slack, Teams, email or OIDC identity. */
    public Identities identities() {
        return identities;
    }

    /** The request service behind the API (for in-process tools and tests). */
    public RequestService service() {
        return service;
    }

    /** The MCP gateway, for tests that drive its sessions in process. */
    McpGateway mcp() {
        return mcp;
    }

    private void routing(HttpRouting.Builder r, java.util.function.Consumer<HttpRules> routes) {
        r.addFilter(metrics::filter);
        KnownRoutes known = new KnownRoutes(r);
        routes.accept(known);
        known.get("/healthz", (req, res) -> RequestsApi.json(res, Status.OK_200, health("ok")))
                .get("/readyz", this::ready)
                .get("/metrics", (req, res) -> {
                    res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                    res.send(metrics.scrape());
                })
                .get("/openapi.yaml", (req, res) -> {
                    res.header(HeaderNames.CONTENT_TYPE, "application/yaml");
                    res.send(openApi);
                });
        r.any((req, res) -> unrouted(known, req, res))
                .error(Problem.Thrown.class, (req, res, e) -> problem(req, res, e.problem()))
                .error(McpEndpoint.RpcFailure.class, (req, res, e) -> e.write(HeadResponse.of(req, res)))
                .error(
                        RefusedException.class,
                        (req, res, e) -> problem(req, res, Problem.of(e.refusal(), e.getMessage())))
                .error(
                        RequestNotFoundException.class,
                        (req, res, e) -> problem(
                                req, res, new Problem(404, "request-not-found", "No such request", e.getMessage())))
                .error(
                        InvalidRequestException.class,
                        (req, res, e) -> problem(
                                req, res, new Problem(422, "invalid-request", "Invalid request", e.getMessage())))
                .error(
                        NotCanonicalizableException.class,
                        (req, res, e) -> problem(
                                req,
                                res,
                                new Problem(
                                        422,
                                        "not-canonicalizable",
                                        "Value has no canonical JSON form",
                                        e.getMessage())))
                .error(
                        LedgerIntegrityException.class,
                        (req, res, e) -> problem(
                                req,
                                res,
                                new Problem(
                                        503,
                                        "ledger-integrity",
                                        "Ledger failed its integrity check",
                                        e.getMessage() + "; nothing was changed")))
                .error(StorageException.class, (req, res, e) -> {
                    LOG.error(
                            "storage failure on {} {}: {}",
                            req.prologue().method().text(),
                            req.path().path(),
                            e.getMessage());
                    problem(
                            req,
                            res,
                            new Problem(
                                    503,
                                    "storage-unavailable",
                                    "Storage unavailable",
                                    "the request could not be recorded; nothing was changed"));
                })
                .error(Exception.class, (req, res, e) -> {
                    LOG.error(
                            "unexpected failure on {} {}",
                            req.prologue().method().text(),
                            req.path().path(),
                            e);
                    problem(
                            req,
                            res,
                            new Problem(
                                    500,
                                    "internal-error",
                                    "Internal error",
                                    "an unexpected error occurred; see the server log"));
                });
    }

    /** No route took the request: 405 if its path is served with other methods, else 404. */
    private static void unrouted(KnownRoutes known, ServerRequest req, ServerResponse res) {
        String path = req.path().path();
        String call = req.prologue().method().text() + " " + path;
        List<Method> allowed = known.allowed(req.prologue());
        if (allowed.isEmpty()) {
            problem(req, res, new Problem(404, "not-found", "Not found", "no route for " + call));
            return;
        }
        String allow = String.join(", ", allowed.stream().map(Method::text).toList());
        res.header(HeaderNames.ALLOW, allow);
        problem(
                req,
                res,
                new Problem(
                        405,
                        "method-not-allowed",
                        "Method not allowed",
                        call + " is not served; " + path + " takes " + allow));
    }

    private void ready(ServerRequest req, ServerResponse res) {
        if (store.integrityProblem().isPresent()) {
            problem(
                    req,
                    res,
                    new Problem(
                            503,
                            "not-ready",
                            "Not ready",
                            "the ledger failed its integrity check: "
                                    + store.integrityProblem().get()));
            return;
        }
        try {
            store.list(new RequestStore.Query(null, null, 1));
            RequestsApi.json(res, Status.OK_200, health("ready"));
        } catch (StorageException e) {
            problem(
                    req,
                    res,
                    new Problem(503, "not-ready", "Not ready", "the store does not answer: " + e.getMessage()));
        }
    }

    private static com.fasterxml.jackson.databind.node.ObjectNode health(String status) {
        return io.countersign.core.json.Json.mapper().createObjectNode().put("status", status);
    }

    static void problem(ServerRequest req, ServerResponse res, Problem p) {
        res.status(Status.create(p.status()));
        res.header(HeaderNames.CONTENT_TYPE, Problem.MEDIA_TYPE);
        if (p.status() == 401) res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"countersign\"");
        HeadResponse.of(req, res).send(Bodies.write(p.toJson(req.path().path())));
    }

    private void sweep() {
        try {
            int n = service.expireDue(500);
            if (n > 0) LOG.info("expired {} request(s)", n);
        } catch (RuntimeException e) {
            LOG.error("expiry sweep failed: {}", e.getMessage());
        }
    }

    private static Policy loadPolicy(ServerConfig config) {
        try {
            return Policy.parse(Files.readString(config.policyFile()));
        } catch (IOException e) {
            throw new PolicyException("cannot read policy " + config.policyFile() + ": " + e.getMessage(), e);
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = CountersignServer.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException(name + " is missing from the build");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + name, e);
        }
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
        if (tokens != null) tokens.close();
        web.stop();
        dispatcher.close();
        mcp.close();
        store.close();
        LOG.info("Countersign stopped");
    }
}
