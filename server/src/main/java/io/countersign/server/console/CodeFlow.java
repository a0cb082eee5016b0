package io.countersign.server.console;

import io.countersign.core.Principal;
import io.countersign.core.json.CanonicalJson;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sign-in through the console's issuer: OpenID Connect authorization code flow with PKCE.
 *
 * <p>Design notes. {@link #start} makes four random values: the {@code state} (names the sign-in
 * in the callback), a browser key (set as a cookie on the browser that started it), the {@code
 * nonce} (which the ID token must carry back) and the PKCE verifier (whose S256 challenge goes to
 * the issuer; the verifier goes only to its token endpoint). They stay on the server with the
 * return path, for {@link #PENDING_TTL}. {@link #finish} takes the sign-in by its state exactly once,
 * then requires the browser key: a callback carried to another browser (login CSRF: being signed in
 * as someone else) fails. The ID token is then checked as every token of that issuer is, plus
 * {@code aud}/{@code azp} = client id and the nonce ({@link OidcAuthenticator#signIn}); only people
 * sign in. Nothing from the query but the code and the state is used: the return path never leaves
 * the server, so the issuer never sees a review link.
 */
final class CodeFlow {
    private static final Logger LOG = LoggerFactory.getLogger(CodeFlow.class);
    static final String COOKIE = "cs_signin";
    static final String CALLBACK = "/console/callback";
    static final Duration PENDING_TTL = Duration.ofMinutes(10);
    private static final int MAX_PENDING = 10_000;

    /** A sign-in started: the browser is sent to {@code authorize} with {@code browserKey} as its cookie. */
    record Started(String browserKey, URI authorize) {}

    /** A sign-in finished: who signed in, and where they go back to. */
    record Finished(Principal who, ReturnPath returnTo) {}

    private record Pending(String browserKey, String nonce, String verifier, ReturnPath returnTo, Instant expires) {}

    private final ServerConfig.Console console;
    private final IdentityProvider provider;
    private final OidcAuthenticator tokens;
    private final Supplier<URI> baseUrl;
    private final Clock clock;
    private final SecureRandom random;
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();

    CodeFlow(
            ServerConfig.Console console,
            IdentityProvider provider,
            OidcAuthenticator tokens,
            Supplier<URI> baseUrl,
            Clock clock,
            SecureRandom random) {
        this.console = console;
        this.provider = provider;
        this.tokens = tokens;
        this.baseUrl = baseUrl;
        this.clock = clock;
        this.random = random;
    }

    /** The issuer people sign in with. */
    String issuer() {
        return console.issuer();
    }

    Started start(ReturnPath returnTo) {
        URI endpoint = provider.endpoints().authorization();
        make();
        String state = Sessions.randomId(random);
        Pending p = new Pending(
                Sessions.randomId(random),
                Sessions.randomId(random),
                Sessions.randomId(random),
                returnTo,
                clock.instant().plus(PENDING_TTL));
        pending.put(state, p);
        Map<String, String> params = new LinkedHashMap<>();
        params.put("response_type", "code");
        params.put("client_id", console.clientId());
        params.put("redirect_uri", redirectUri().toString());
        params.put("scope", "openid email profile");
        params.put("state", state);
        params.put("nonce", p.nonce());
        params.put("code_challenge", challenge(p.verifier()));
        params.put("code_challenge_method", "S256");
        return new Started(p.browserKey(), IdentityProvider.authorizationUrl(endpoint, params));
    }

    Finished finish(String code, String state, String browserKey) {
        Pending p = state == null ? null : pending.remove(state);
        if (p == null || !clock.instant().isBefore(p.expires()))
            throw new SignInRefused(400, "This sign-in is unknown or took too long. Start again.");
        if (browserKey == null || !same(browserKey, p.browserKey()))
            throw new SignInRefused(400, "This sign-in was started in another browser. Start again here.");
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
        return new Finished(who, p.returnTo());
    }

    /** The callback sign-ins come back to; registered at the issuer as the client's redirect URI. */
    URI redirectUri() {
        return URI.create(baseUrl.get() + CALLBACK);
    }

    /** Room for one more pending sign-in: abandoned ones are dropped once they are too old. */
    private void make() {
        if (pending.size() < MAX_PENDING) return;
        Instant now = clock.instant();
        pending.values().removeIf(p -> !now.isBefore(p.expires()));
        if (pending.size() >= MAX_PENDING)
            throw new SignInRefused(503, "Too many sign-ins are in progress just now; try again in a few minutes.");
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
