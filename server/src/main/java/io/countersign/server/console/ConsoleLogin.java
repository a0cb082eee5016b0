package io.countersign.server.console;

import io.countersign.core.Principal;
import io.countersign.server.ApiKeys;
import io.countersign.server.channels.ConsoleSignIn;
import io.countersign.server.config.ServerConfig;
import io.countersign.server.identity.OidcAuthenticator;
import io.helidon.http.HeaderNames;
import io.helidon.http.SetCookie;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Console sign-in: who is signed in to the console in a browser, for review links that were not
 * sent to one person (a Teams card seen by a whole channel).
 *
 * <p>People sign in through the issuer configured as {@code oidc.console} (authorization code with
 * PKCE, see {@link CodeFlow}); without one, with their Countersign API key (the demo has no identity
 * provider). Either way the result is the principal the API would see for them, and only people
 * sign in. The session is a random id in a cookie ({@code HttpOnly}, {@code SameSite=Lax}); when the
 * public URL is https it is {@code __Host-cs_session} ({@code Secure}, {@code Path=/}, no {@code
 * Domain}: no other host or path can set it), else {@code cs_session} on the public URL's path.
 * Every other cookie's path is the public URL's path prefix plus the route it is for, so a server
 * behind a path prefix works. Every form carries a token only this server's page has (the key form:
 * one sealed in a cookie of the browser it was shown to; sign-out: one held with the session), and
 * forms a browser says come from another origin are refused too. A return path is always a path on
 * this server.
 *
 * <p>Routes: {@code GET /console/login?return=<path>} (starts a sign-in, or shows the key form),
 * {@code POST /console/login} (the key form), {@code GET /console/callback} (the issuer's redirect)
 * and {@code POST /console/logout}.
 */
public final class ConsoleLogin implements ConsoleSignIn {
    private static final Logger LOG = LoggerFactory.getLogger(ConsoleLogin.class);
    static final String LOGIN = "/console/login";
    static final String LOGOUT = "/console/logout";
    static final String FORM_COOKIE = "cs_form";
    static final String CSRF = "csrf";
    private static final String FORM_PURPOSE = "countersign-key-form-v1";
    private static final Duration FORM_TTL = Duration.ofHours(1);
    private static final int MAX_FORM_BYTES = 8 * 1024;
    private static final Pattern ERROR_CODE = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    private final Sessions sessions;
    private final CodeFlow flow;
    private final ApiKeys keys;
    private final Supplier<URI> baseUrl;
    private final CookieSeal seal;
    private final Clock clock;
    private final SecureRandom random;

    private ConsoleLogin(
            Sessions sessions,
            CodeFlow flow,
            ApiKeys keys,
            Supplier<URI> baseUrl,
            CookieSeal seal,
            Clock clock,
            SecureRandom random) {
        this.sessions = sessions;
        this.flow = flow;
        this.keys = keys;
        this.baseUrl = baseUrl;
        this.seal = seal;
        this.clock = clock;
        this.random = random;
    }

    /**
     * Sign-in for {@code config}: through {@code oidc.console} when configured ({@code tokens} then
     * verifies its ID tokens), else with API keys.
     *
     * @param baseUrl the public base URL, without a trailing slash (known once the server listens)
     */
    public static ConsoleLogin create(
            ServerConfig config, OidcAuthenticator tokens, Supplier<URI> baseUrl, Clock clock, SecureRandom random) {
        ServerConfig.Console c = config.oidc().console();
        Duration ttl = c == null ? ServerConfig.Console.DEFAULT_SESSION_TTL : c.sessionTtl();
        CookieSeal seal = new CookieSeal(random);
        CodeFlow flow = c == null
                ? null
                : new CodeFlow(
                        c,
                        new IdentityProvider(
                                c.issuer(),
                                c.clientId(),
                                c.clientSecret(),
                                config.oidc().httpTimeout()),
                        tokens,
                        baseUrl,
                        clock,
                        random,
                        seal);
        return new ConsoleLogin(
                new Sessions(ttl, clock, random), flow, new ApiKeys(config.identities()), baseUrl, seal, clock, random);
    }

    public void routes(HttpRules rules) {
        rules.get(LOGIN, page(this::login))
                .post(LOGIN, page(this::keySignIn))
                .get(CodeFlow.CALLBACK, page(this::callback))
                .post(LOGOUT, page(this::logout));
    }

    @Override
    public Optional<Principal> principal(ServerRequest req) {
        return sessions.find(cookie(req, sessionCookie()));
    }

    @Override
    public Optional<String> signInUrl(String returnPath) {
        try {
            ReturnPath back = ReturnPath.of(returnPath);
            return Optional.of(url(LOGIN) + "?return=" + URLEncoder.encode(back.value(), StandardCharsets.UTF_8));
        } catch (SignInRefused e) {
            return Optional.of(url(LOGIN));
        }
    }

    private void login(ServerRequest req, ServerResponse res) {
        ReturnPath back = ReturnPath.of(req.query().first("return").orElse(null));
        String session = cookie(req, sessionCookie());
        Optional<Principal> who = sessions.find(session);
        if (who.isPresent()) {
            if (back.equals(ReturnPath.HOME))
                Pages.send(
                        res,
                        200,
                        "Signed in",
                        Pages.signedIn(
                                who.get().id(),
                                url(LOGOUT),
                                sessions.formToken(session).orElse("")));
            else Pages.redirect(res, url(back.value()));
            return;
        }
        if (flow == null) {
            keyForm(res, 200, back, null);
            return;
        }
        CodeFlow.Started started = flow.start(back);
        cookie(res, CodeFlow.COOKIE, started.cookie(), prefixed(CodeFlow.CALLBACK), CodeFlow.PENDING_TTL);
        Pages.redirect(res, started.authorize().toString());
    }

    /**
     * The key form, with a fresh form token: a random value in the page, and the same value sealed
     * with an expiry in a cookie of this browser. A form another site posts through this browser has
     * no way to know the value, so it cannot sign the person in as someone else.
     */
    private void keyForm(ServerResponse res, int status, ReturnPath back, String error) {
        String token = Sessions.randomId(random);
        String sealed = seal.seal(
                FORM_PURPOSE,
                (token + "." + clock.instant().plus(FORM_TTL).getEpochSecond()).getBytes(StandardCharsets.UTF_8));
        cookie(res, FORM_COOKIE, sealed, prefixed(LOGIN), FORM_TTL);
        Pages.send(res, status, "Sign in", Pages.keyForm(url(LOGIN), back, error, token));
    }

    private void keySignIn(ServerRequest req, ServerResponse res) {
        requireSameOrigin(req);
        if (flow != null)
            throw new SignInRefused(
                    403, "This console signs people in through " + flow.issuer() + ", not with API keys.");
        Map<String, String> form = form(req);
        requireKeyFormToken(cookie(req, FORM_COOKIE), form.get(CSRF));
        ReturnPath back = ReturnPath.of(form.get("return"));
        String key = form.getOrDefault("api_key", "").strip();
        Optional<Principal> who = keys.authenticate(key);
        if (who.isEmpty()) {
            keyForm(res, 401, back, "That API key is not valid.");
            return;
        }
        signedIn(req, res, who.get(), back, null);
    }

    private void requireKeyFormToken(String cookie, String given) {
        String[] opened = seal.open(FORM_PURPOSE, cookie)
                .map(b -> new String(b, StandardCharsets.UTF_8).split("\\.", 2))
                .orElse(null);
        boolean fresh =
                opened != null && opened.length == 2 && clock.instant().getEpochSecond() < Long.parseLong(opened[1]);
        if (!fresh || given == null || !same(opened[0], given))
            throw new SignInRefused(
                    403, "This sign-in form is out of date or was not sent from this server's page. Try again.");
    }

    private void callback(ServerRequest req, ServerResponse res) {
        if (flow == null) throw new SignInRefused(404, "This console does not sign in through an identity provider.");
        String error = req.query().first("error").orElse(null);
        if (error != null)
            throw new SignInRefused(
                    401,
                    "The identity provider did not sign you in ("
                            + (ERROR_CODE.matcher(error).matches() ? error : "an error") + ").");
        CodeFlow.Finished done = flow.finish(
                req.query().first("code").orElse(null),
                req.query().first("state").orElse(null),
                cookie(req, CodeFlow.COOKIE));
        cookie(res, CodeFlow.COOKIE, "", prefixed(CodeFlow.CALLBACK), Duration.ZERO);
        signedIn(req, res, done.who(), done.returnTo(), done.notAfter());
    }

    private void logout(ServerRequest req, ServerResponse res) {
        requireSameOrigin(req);
        String session = cookie(req, sessionCookie());
        Optional<String> expected = sessions.formToken(session);
        if (expected.isPresent()) {
            String given = form(req).get(CSRF);
            if (given == null || !same(expected.get(), given))
                throw new SignInRefused(403, "This sign-out was not sent from this server's page, so it is refused.");
        }
        sessions.close(session);
        cookie(res, sessionCookie(), "", sessionPath(), Duration.ZERO);
        Pages.redirect(res, url(LOGIN));
    }

    /**
     * A new session for a person (only people sign in), replacing any the browser had; it ends no
     * later than {@code notAfter} (the ID token's expiry), when given.
     */
    private void signedIn(ServerRequest req, ServerResponse res, Principal who, ReturnPath back, Instant notAfter) {
        if (!who.isHuman())
            throw new SignInRefused(
                    403,
                    "Only people sign in to the console; " + who.id() + " is not a person ("
                            + who.kind().wire() + ").");
        sessions.close(cookie(req, sessionCookie()));
        Sessions.Opened opened = sessions.open(who, notAfter);
        cookie(res, sessionCookie(), opened.id(), sessionPath(), opened.lifetime());
        LOG.info("{} signed in to the console", who.id());
        Pages.redirect(res, url(back.value()));
    }

    /**
     * Forms that sign in or out must come from a page of this server: besides the form token, a form
     * a browser says comes from another origin ({@code Origin}, {@code Sec-Fetch-Site}) is refused.
     */
    private void requireSameOrigin(ServerRequest req) {
        Optional<String> origin = req.headers().first(HeaderNames.ORIGIN);
        Optional<String> site = req.headers().first(HeaderNames.create("Sec-Fetch-Site"));
        boolean foreignOrigin = origin.isPresent() && !origin.get().equalsIgnoreCase(origin(baseUrl.get()));
        boolean foreignSite = site.isPresent()
                && !site.get().equals("same-origin")
                && !site.get().equals("none");
        if (foreignOrigin || foreignSite)
            throw new SignInRefused(403, "This form was sent from another site, so it is refused.");
    }

    private Map<String, String> form(ServerRequest req) {
        String type = req.headers().first(HeaderNames.CONTENT_TYPE).orElse("");
        if (!type.toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded"))
            throw new SignInRefused(415, "The sign-in form was not sent as a form.");
        byte[] body;
        try (InputStream in = req.content().inputStream()) {
            body = in.readNBytes(MAX_FORM_BYTES + 1);
        } catch (IOException e) {
            throw new SignInRefused(400, "The sign-in form could not be read.");
        }
        if (body.length > MAX_FORM_BYTES) throw new SignInRefused(413, "The sign-in form is too large.");
        Map<String, String> out = new HashMap<>();
        for (String pair : new String(body, StandardCharsets.UTF_8).split("&")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) continue;
            try {
                out.putIfAbsent(
                        URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw new SignInRefused(400, "The sign-in form is not well-formed.");
            }
        }
        return out;
    }

    /** Sets a cookie for {@code maxAge}; a zero age removes it (an Expires in the past: Max-Age=0 is not sent). */
    private void cookie(ServerResponse res, String name, String value, String path, Duration maxAge) {
        SetCookie.Builder c = SetCookie.builder(name, value)
                .path(path)
                .httpOnly(true)
                .sameSite(SetCookie.SameSite.LAX)
                .secure(https());
        res.headers().addCookie((maxAge.isZero() ? c.expires(Instant.EPOCH) : c.maxAge(maxAge)).build());
    }

    private boolean https() {
        return "https".equalsIgnoreCase(baseUrl.get().getScheme());
    }

    /** The session cookie's name: {@code __Host-cs_session} on https (a browser then insists on Secure, Path=/ and no Domain). */
    String sessionCookie() {
        return https() ? "__Host-" + Sessions.COOKIE : Sessions.COOKIE;
    }

    private String sessionPath() {
        return https() ? "/" : prefixed("/");
    }

    /** {@code path} as browsers see it: under the public URL's path prefix, if it has one. */
    private String prefixed(String path) {
        String prefix = baseUrl.get().getRawPath();
        if (prefix == null) prefix = "";
        while (prefix.endsWith("/")) prefix = prefix.substring(0, prefix.length() - 1);
        return prefix + path;
    }

    private static boolean same(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    private static String cookie(ServerRequest req, String name) {
        return req.headers().cookies().first(name).orElse(null);
    }

    private String url(String path) {
        return baseUrl.get() + path;
    }

    private static String origin(URI u) {
        return u.getScheme() + "://" + u.getHost() + (u.getPort() < 0 ? "" : ":" + u.getPort());
    }

    /** Runs a handler, showing a refused sign-in as a page that says why. */
    private Handler page(Handler h) {
        return (req, res) -> {
            try {
                h.handle(req, res);
            } catch (SignInRefused e) {
                Pages.send(res, e.status(), "Sign-in failed", Pages.failed(e.getMessage(), url(LOGIN)));
            }
        };
    }
}
