package io.countersign.server.console;

import io.countersign.server.config.Channels;
import io.countersign.server.config.ServerConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import no.nav.security.mock.oauth2.token.OAuth2TokenProvider;

/**
 * A real OpenID Connect provider for console sign-in (mock-oauth2-server: discovery, JWKS, an
 * authorization endpoint that signs in without asking, and a token endpoint that checks PKCE),
 * issuing tokens on the test's clock.
 */
public final class MockIdp implements AutoCloseable {
    public static final String ISSUER_ID = "default";
    public static final String CLIENT_ID = "countersign-console";

    public final MockOAuth2Server server;
    public final String issuer;

    public MockIdp(Supplier<Instant> clock) {
        server = new MockOAuth2Server(new OAuth2Config(false, null, null, false, new OAuth2TokenProvider(clock::get)));
        server.start(InetAddress.getLoopbackAddress(), 0);
        issuer = server.issuerUrl(ISSUER_ID).toString();
        warmUp();
    }

    /**
     * Asks for the discovery document and keys once, so that a cold provider (its first answers
     * take seconds) does not make the server's first key fetch time out: on a clock that tests move
     * by hand, a failed fetch would not be retried.
     */
    private void warmUp() {
        try (HttpClient http = HttpClient.newHttpClient()) {
            for (String path : List.of("/.well-known/openid-configuration", "/jwks")) {
                HttpRequest get = HttpRequest.newBuilder(URI.create(issuer + path))
                        .timeout(Duration.ofSeconds(30))
                        .build();
                http.send(get, HttpResponse.BodyHandlers.discarding());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The next sign-in at the authorization endpoint is {@code subject}'s, with these claims. */
    public void nextSignIn(String subject, Map<String, Object> claims) {
        nextSignIn(subject, claims, Duration.ofHours(1));
    }

    /** The next sign-in is {@code subject}'s, with an ID token that expires {@code lifetime} after it is issued. */
    public void nextSignIn(String subject, Map<String, Object> claims, Duration lifetime) {
        server.enqueueCallback(
                new DefaultOAuth2TokenCallback(ISSUER_ID, subject, "JWT", List.of(), claims, lifetime.toSeconds()));
    }

    /** A bearer token of this issuer for {@code subject}, for the API (audience {@code countersign}). */
    public String bearer(String subject, Map<String, Object> claims) {
        return server.issueToken(
                        ISSUER_ID,
                        "countersign-cli",
                        new DefaultOAuth2TokenCallback(ISSUER_ID, subject, "JWT", List.of("countersign"), claims, 3600))
                .serialize();
    }

    /** This issuer trusted (agents marked by {@code kind: agent}), and the console signing in through it. */
    public ServerConfig.Oidc oidc(String clientSecret, Duration sessionTtl) {
        return oidc(clientSecret, sessionTtl, b -> b);
    }

    /** As {@link #oidc(String, Duration)}, with the issuer's settings changed by {@code issuerSettings}. */
    public ServerConfig.Oidc oidc(
            String clientSecret, Duration sessionTtl, UnaryOperator<ServerConfig.Issuer.Builder> issuerSettings) {
        ServerConfig.Issuer trusted = issuerSettings
                .apply(ServerConfig.Issuer.builder(issuer, "countersign")
                        .agentClaim(new ServerConfig.ClaimMatch("kind", "agent")))
                .build();
        return ServerConfig.Oidc.of(List.of(trusted))
                .withConsole(new ServerConfig.Console(
                        issuer,
                        CLIENT_ID,
                        clientSecret == null ? null : new Channels.Secret(clientSecret),
                        sessionTtl));
    }

    /** The link that makes {@code subject} of this issuer the declared identity it is given to. */
    public ServerConfig.Links link(String subject) {
        return new ServerConfig.Links(issuer + "#" + subject, null, null, null);
    }

    @Override
    public void close() {
        server.shutdown();
    }
}
