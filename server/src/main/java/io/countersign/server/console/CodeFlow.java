package io.countersign.server.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Principal;
import io.countersign.core.json.CanonicalJson;
import io.countersign.core.json.Json;
import io.countersign.server.config.ServerConfig;
import io.countersign.server.identity.OidcAuthenticator;
import io.countersign.server.identity.TokenRejectedException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sign-in through the console's issuer: OpenID Connect authorization code flow with PKCE.
 *
 * <p>Design notes. {@link #start} makes three random values: the {@code state} (names the sign-in
 * in the callback), the {@code nonce} (which the ID token must carry back) and the PKCE verifier
 * (whose S256 challenge goes to the issuer; the verifier goes only to its token endpoint). They go,
 * with the return path and an expiry {@link #PENDING_TTL} ahead, into the {@code cs_signin} cookie,
 * sealed ({@link CookieSeal}: AES-GCM under a key made at start), and nowhere else: the server keeps
 * nothing per sign-in, so no number of abandoned sign-ins can fill it up or lock anyone out. {@link
 * #finish} opens the cookie of the browser the callback arrives in and requires its state to be the
 * callback's: a callback carried to another browser (login CSRF: being signed in as someone else)
 * fails, and so does a cookie that was altered, forged, expired or sealed before a restart (a
 * sign-in in flight across a restart starts again). The cookie is removed after the callback; a
 * callback replayed with a kept cookie fails at the issuer, which takes each code once. The ID token
 * is then checked as every token of that issuer is, plus {@code aud}/{@code azp} = client id and the
 * nonce ({@link OidcAuthenticator#signIn}); only people sign in. Nothing from the query but the code
 * and the state is used: the return path never leaves the server and the browser, so the issuer
 * never sees a review link.
 */
final class CodeFlow {
    private static final Logger LOG = LoggerFactory.getLogger(CodeFlow.class);
    static final String COOKIE = "cs_signin";
    static final String CALLBACK = "/console/callback";
    static final Duration PENDING_TTL = Duration.ofMinutes(10);
    private static final String PURPOSE = "countersign-signin-v1";

    /** A sign-in started: the browser is sent to {@code authorize} with {@code cookie} as its sign-in cookie. */
    record Started(String cookie, URI authorize) {}

    /**
     * A sign-in finished: who signed in, where they go back to, and when their ID token expires (a
     * session lasts no longer).
     */
    record Finished(Principal who, ReturnPath returnTo, Instant notAfter) {}

    /** What the sign-in cookie carries. */
    private record Pending(String state, String nonce, String verifier, ReturnPath returnTo, Instant expires) {}

    private final ServerConfig.Console console;
    private final IdentityProvider provider;
    private final OidcAuthenticator tokens;
    private final Supplier<URI> baseUrl;
    private final Clock clock;
    private final SecureRandom random;
    private final CookieSeal seal;

    CodeFlow(
            ServerConfig.Console console,
            IdentityProvider provider,
            OidcAuthenticator tokens,
            Supplier<URI> baseUrl,
            Clock clock,
            SecureRandom random,
            CookieSeal seal) {
        this.console = console;
        this.provider = provider;
        this.tokens = tokens;
        this.baseUrl = baseUrl;
        this.clock = clock;
        this.random = random;
        this.seal = seal;
    }

    /** The issuer people sign in with. */
    String issuer() {
        return console.issuer();
    }

    Started start(ReturnPath returnTo) {
        URI endpoint = provider.endpoints().authorization();
        Pending p = new Pending(
                Sessions.randomId(random),
                Sessions.randomId(random),
                Sessions.randomId(random),
                returnTo,
                clock.instant().plus(PENDING_TTL));
        Map<String, String> params = new LinkedHashMap<>();
        params.put("response_type", "code");
        params.put("client_id", console.clientId());
        params.put("redirect_uri", redirectUri().toString());
        params.put("scope", "openid email profile");
        params.put("state", p.state());
        params.put("nonce", p.nonce());
        params.put("code_challenge", challenge(p.verifier()));
        params.put("code_challenge_method", "S256");
        return new Started(sealed(p), IdentityProvider.authorizationUrl(endpoint, params));
    }

    Finished finish(String code, String state, String cookie) {
        Pending p = opened(cookie)
                .orElseThrow(() -> new SignInRefused(
                        400, "This sign-in was started in another browser, or too long ago. Start again here."));
        if (state == null || !clock.instant().isBefore(p.expires()) || !same(state, p.state()))
            throw new SignInRefused(400, "This sign-in is unknown or took too long. Start again.");
        if (code == null || code.isEmpty() || code.length() > 4096)
            throw new SignInRefused(400, "The identity provider sent no authorization code. Start again.");
        String idToken = provider.idToken(code, p.verifier(), redirectUri());
        Principal who;
        try {
            who = tokens.signIn(idToken, console.issuer(), console.clientId(), p.nonce());
        } catch (TokenRejectedException e) {
            LOG.info("console sign-in refused: {}: {}", e.problem().slug(), e.getMessage());
            throw new SignInRefused(401, "The identity provider's answer was not accepted: " + e.getMessage());
        }
        return new Finished(who, p.returnTo(), expiry(idToken));
    }

    /** The callback sign-ins come back to; registered at the issuer as the client's redirect URI. */
    URI redirectUri() {
        return URI.create(baseUrl.get() + CALLBACK);
    }

    private String sealed(Pending p) {
        ObjectNode n = Json.mapper()
                .createObjectNode()
                .put("s", p.state())
                .put("n", p.nonce())
                .put("v", p.verifier())
                .put("r", p.returnTo().value())
                .put("e", p.expires().getEpochSecond());
        return seal.seal(PURPOSE, n.toString().getBytes(StandardCharsets.UTF_8));
    }

    private Optional<Pending> opened(String cookie) {
        return seal.open(PURPOSE, cookie).map(b -> {
            try {
                JsonNode n = Json.mapper().readTree(b);
                return new Pending(
                        n.path("s").asText(),
                        n.path("n").asText(),
                        n.path("v").asText(),
                        new ReturnPath(n.path("r").asText()),
                        Instant.ofEpochSecond(n.path("e").asLong()));
            } catch (java.io.IOException e) {
                throw new IllegalStateException("a sealed sign-in is JSON this server wrote", e);
            }
        });
    }

    /** The {@code exp} of an ID token {@link OidcAuthenticator#signIn} has verified (it requires one). */
    private static Instant expiry(String idToken) {
        try {
            String payload = idToken.split("\\.", 3)[1];
            JsonNode claims = Json.mapper().readTree(Base64.getUrlDecoder().decode(payload));
            return claims.path("exp").canConvertToLong()
                    ? Instant.ofEpochSecond(claims.path("exp").asLong())
                    : null;
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    /** RFC 7636 section 4.2: BASE64URL(SHA256(ASCII(verifier))). */
    static String challenge(String verifier) {
        return Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(CanonicalJson.sha256(verifier.getBytes(StandardCharsets.US_ASCII)));
    }

    private static boolean same(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }
}
