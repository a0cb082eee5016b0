package io.countersign.server.identity;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.core.json.Json;
import io.countersign.core.testing.MutableClock;
import io.countersign.server.ApiKeys;
import io.countersign.server.CountersignServer;
import io.countersign.server.config.ServerConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.token.KeyProvider;
import no.nav.security.mock.oauth2.token.OAuth2TokenProvider;

/**
 * A real OpenID Connect provider (mock-oauth2-server: discovery, JWKS and a token endpoint over
 * HTTP, signing real RS256 tokens) and a real Countersign on port 0 that trusts it. Both read the
 * same hand-moved clock, so expiry is tested by moving it, never by sleeping.
 *
 * <p>The cast: {@code deploy-bot}, an agent owned by alice and linked to the OAuth client {@code
 * deploy-bot}; alice (data-owners; OIDC subject {@code alice-sub}, email, Slack and Teams links),
 * carol (data-owners, security; API key only) and dave (security). Anyone else (bob, erin) is known
 * to the IdP only.
 */
final class OidcFixture implements AutoCloseable {
    static final Instant START = Instant.parse("2026-03-02T09:00:00Z");
    static final String ISSUER_ID = "default";
    static final String AUDIENCE = "countersign";

    static final String PII_EXPORT = """
            {"action": {"type": "db.export", "params": {"table": "customers"}},
             "resource": {"type": "table", "id": "customers", "env": "prod", "tags": ["pii"]},
             "justification": "churn analysis"}""";

    final MutableClock clock = new MutableClock(START);
    final RotatingKeys keys;
    final MockOAuth2Server idp;
    final String issuer;
    private final Map<String, String> apiKeys = new LinkedHashMap<>();
    private ServerConfig config;
    private CountersignServer server;
    private final HttpClient http =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    OidcFixture(Path dataDir) {
        this(dataDir, b -> b);
    }

    /** With the issuer's settings changed by {@code issuerSettings}. */
    OidcFixture(Path dataDir, UnaryOperator<ServerConfig.Issuer.Builder> issuerSettings) {
        this(dataDir, issuerSettings, JWSAlgorithm.RS256);
    }

    /** With an IdP that signs with {@code alg} (RS256 or ES256). */
    OidcFixture(Path dataDir, UnaryOperator<ServerConfig.Issuer.Builder> issuerSettings, JWSAlgorithm alg) {
        this.keys = new RotatingKeys(alg);
        this.idp = new MockOAuth2Server(
                new OAuth2Config(false, null, null, false, new OAuth2TokenProvider(keys, () -> clock.instant())));
        idp.start(InetAddress.getLoopbackAddress(), 0);
        this.issuer = idp.issuerUrl(ISSUER_ID).toString();
        ServerConfig.Issuer trusted = issuerSettings
                .apply(ServerConfig.Issuer.builder(issuer, AUDIENCE)
                        .agentClaim(new ServerConfig.ClaimMatch("kind", "agent"))
                        .linkClaims(Map.of("slack", "slack_id")))
                .build();
        this.config = config(dataDir, trusted);
        this.server = CountersignServer.start(config, clock);
    }

    /** Stops the server and starts it again on the same data and config, as after a deployment. */
    void restart() {
        server.close();
        server = CountersignServer.start(config, clock);
    }

    /**
     * Stops the server and starts it with one more declared identity, as after an operator adds a
     * person to {@code identities}. If that start fails, the server is started again as it was and the
     * failure thrown.
     */
    void restartDeclaring(Principal p, ServerConfig.Links links) {
        server.close();
        List<ServerConfig.Identity> identities = new ArrayList<>(config.identities());
        identities.add(identity(p, links));
        ServerConfig declaring = new ServerConfig(
                config.host(),
                config.port(),
                config.dataDir(),
                config.policyFile(),
                identities,
                config.sweepInterval(),
                config.maxWait(),
                config.demo(),
                config.ledger(),
                config.oidc(),
                config.mcp(),
                config.channels());
        try {
            server = CountersignServer.start(declaring, clock);
            config = declaring;
        } catch (RuntimeException e) {
            server = CountersignServer.start(config, clock);
            throw e;
        }
    }

    private ServerConfig config(Path dataDir, ServerConfig.Issuer trusted) {
        List<ServerConfig.Identity> identities = List.of(
                identity(
                        new Principal("deploy-bot", PrincipalKind.AGENT, Set.of(), "alice", null, null, Map.of()),
                        new ServerConfig.Links(issuer + "#deploy-bot", null, null, null)),
                identity(
                        Principal.human("alice", Set.of("engineering", "data-owners")),
                        new ServerConfig.Links(issuer + "#alice-sub", "alice@example.com", "U0ALICE", "29:alice")),
                identity(
                        Principal.human("carol", Set.of("data-owners", "security")),
                        new ServerConfig.Links(null, null, "U0CAROL", null)),
                identity(Principal.human("dave", Set.of("security")), ServerConfig.Links.NONE));
        return ServerConfig.local(dataDir, Path.of("..", "examples", "policy.yaml"), identities)
                .withOidc(ServerConfig.Oidc.of(List.of(trusted)));
    }

    private ServerConfig.Identity identity(Principal p, ServerConfig.Links links) {
        String key = ApiKeys.generate();
        apiKeys.put(p.id(), key);
        return new ServerConfig.Identity(p, ApiKeys.sha256Hex(key), links);
    }

    CountersignServer server() {
        return server;
    }

    String apiKey(String who) {
        return apiKeys.get(who);
    }

    /** A token the IdP issues for {@code subject} to this server, with extra claims. */
    String token(String subject, Map<String, Object> claims) {
        return idp.issueToken(ISSUER_ID, subject, AUDIENCE, claims).serialize();
    }

    /**
     * A token as a person in {@code groups} gets it: with their verified email ({@code
     * <subject>@people.example}), which is what makes an undeclared token a person's.
     */
    String personToken(String subject, String... groups) {
        return token(
                subject,
                Map.of("groups", List.of(groups), "email", subject + "@people.example", "email_verified", true));
    }

    /** An access token from the IdP's token endpoint by the client-credentials grant, as an agent gets one. */
    String clientCredentialsToken(String clientId) {
        String form = "grant_type=client_credentials&client_id=" + clientId + "&client_secret=unused&scope=" + AUDIENCE;
        Reply r = send(HttpRequest.newBuilder(
                        URI.create(idp.tokenEndpointUrl(ISSUER_ID).toString()))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)));
        if (r.status() != 200) throw new AssertionError("token endpoint: " + r);
        return r.json().path("access_token").asText();
    }

    /** Claims as the IdP would sign them, for forged tokens. */
    JWTClaimsSet.Builder claims(String subject) {
        Instant now = clock.instant();
        return new JWTClaimsSet.Builder()
                .issuer(issuer)
                .subject(subject)
                .audience(AUDIENCE)
                .issueTime(Date.from(now))
                .notBeforeTime(Date.from(now))
                .expirationTime(Date.from(now.plus(Duration.ofHours(1))))
                .jwtID(UUID.randomUUID().toString());
    }

    /** A token signed by a key the IdP has never published. */
    static String signedByStranger(JWTClaimsSet claims, String kid) {
        try {
            RSAKey stranger = new RSAKeyGenerator(2048).keyID(kid).generate();
            SignedJWT jwt = new SignedJWT(
                    new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(kid).build(), claims);
            jwt.sign(new RSASSASigner(stranger));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    /** A call with {@code Authorization: Bearer <credential>}. */
    HttpRequest.Builder bearer(String credential, String path) {
        return HttpRequest.newBuilder(uri(path)).header("Authorization", "Bearer " + credential);
    }

    Reply get(String credential, String path) {
        return send(bearer(credential, path).GET());
    }

    Reply post(String credential, String path, String json) {
        return send(bearer(credential, path)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    Reply submit(String credential, String json) {
        return post(credential, "/v1/requests", json);
    }

    Reply review(String credential, String id, String verdict, String reason) {
        return post(
                credential,
                "/v1/requests/" + id + "/reviews",
                "{\"verdict\":\"" + verdict + "\",\"reason\":\"" + reason + "\"}");
    }

    Reply send(HttpRequest.Builder request) {
        try {
            return Reply.of(http.send(request.build(), HttpResponse.BodyHandlers.ofString()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.close();
        idp.shutdown();
    }

    /** One HTTP response, its body read as text. */
    record Reply(int status, java.net.http.HttpHeaders headers, String body) {
        static Reply of(HttpResponse<String> r) {
            return new Reply(r.statusCode(), r.headers(), r.body());
        }

        JsonNode json() {
            try {
                return Json.mapper().readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        /** The problem type's slug; empty unless the body is problem+json. */
        String problem() {
            String type = headers.firstValue("Content-Type").orElse("");
            if (!type.startsWith("application/problem+json")) return "";
            return json().path("type").asText().replace("urn:countersign:problem:", "");
        }

        String state() {
            return json().path("state").asText();
        }
    }

    /**
     * The IdP's signing keys, which a test can rotate: each issuer signs with its current key and
     * publishes only that one, as an IdP does once it has retired the old key.
     */
    static final class RotatingKeys extends KeyProvider {
        private final Map<String, JWK> current = new ConcurrentHashMap<>();
        private final JWSAlgorithm alg;

        RotatingKeys(JWSAlgorithm alg) {
            super(List.of(), alg.getName());
            this.alg = alg;
        }

        @Override
        public JWK signingKey(String issuerId) {
            return current.computeIfAbsent(issuerId, id -> newKey(id + "-1"));
        }

        /** The issuer's current key id. */
        String kid(String issuerId) {
            return signingKey(issuerId).getKeyID();
        }

        /** Replaces the issuer's key by a new one with a new key id; returns that id. */
        String rotate(String issuerId) {
            String kid = issuerId + "-" + UUID.randomUUID();
            current.put(issuerId, newKey(kid));
            return kid;
        }

        private JWK newKey(String kid) {
            try {
                if (JWSAlgorithm.ES256.equals(alg))
                    return new ECKeyGenerator(Curve.P_256)
                            .keyID(kid)
                            .keyUse(KeyUse.SIGNATURE)
                            .generate();
                return new RSAKeyGenerator(2048)
                        .keyID(kid)
                        .keyUse(KeyUse.SIGNATURE)
                        .generate();
            } catch (JOSEException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
