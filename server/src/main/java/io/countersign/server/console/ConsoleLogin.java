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
 * sign in. The session is a random id in a cookie ({@code HttpOnly}, {@code SameSite=Lax}, {@code
 * Secure} when the public URL is https, {@code Path=/}); forms that change a session are refused
 * when posted from another origin, and a return path is always a path on this server.
 *
 * <p>Routes: {@code GET /console/login?return=<path>} (starts a sign-in, or shows the key form),
 * {@code POST /console/login} (the key form), {@code GET /console/callback} (the issuer's redirect)
 * and {@code POST /console/logout}.
 */
public final class ConsoleLogin implements ConsoleSignIn {
    private static final Logger LOG = LoggerFactory.getLogger(ConsoleLogin.class);
    static final String LOGIN = "/console/login";
    static final String LOGOUT = "/console/logout";
    private static final int MAX_FORM_BYTES = 8 * 1024;
    private static final Pattern ERROR_CODE = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    private final Sessions sessions;
    private final CodeFlow flow;
    private final ApiKeys keys;
    private final Supplier<URI> baseUrl;

    private ConsoleLogin(Sessions sessions, CodeFlow flow, ApiKeys keys, Supplier<URI> baseUrl) {
        this.sessions = sessions;
        this.flow = flow;
        this.keys = keys;
        this.baseUrl = baseUrl;
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
                        random);
        return new ConsoleLogin(new Sessions(ttl, clock, random), flow, new ApiKeys(config.identities()), baseUrl);
    }

    public void routes(HttpRules rules) {
        rules.get(LOGIN, page(this::login))
                .post(LOGIN, page(this::keySignIn))
                .get(CodeFlow.CALLBACK, page(this::callback))
                .post(LOGOUT, page(this::logout));
    }

    @Override
    public Optional<Principal> principal(ServerRequest req) {
        return sessions.find(cookie(req, Sessions.COOKIE));
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
        Optional<Principal> who = principal(req);
        if (who.isPresent()) {
            if (back.equals(ReturnPath.HOME))
                Pages.send(res, 200, "Signed in", Pages.signedIn(who.get().id(), url(LOGOUT)));
            else Pages.redirect(res, url(back.value()));
            return;
        }
        if (flow == null) {
            Pages.send(res, 200, "Sign in", Pages.keyForm(url(LOGIN), back, null));
            return;
        }
        CodeFlow.Started started = flow.start(back);
        cookie(res, CodeFlow.COOKIE, started.browserKey(), CodeFlow.CALLBACK, CodeFlow.PENDING_TTL);
        Pages.redirect(res, started.authorize().toString());
    }

    private void keySignIn(ServerRequest req, ServerResponse res) {
        requireSameOrigin(req);
        if (flow != null)
            throw new SignInRefused(
                    403, "This console signs people in through " + flow.issuer() + ", not with API keys.");
        Map<String, String> form = form(req);
        ReturnPath back = ReturnPath.of(form.get("return"));
        String key = form.getOrDefault("api_key", "").strip();
        Optional<Principal> who = keys.authenticate(key);
        if (who.isEmpty()) {
            Pages.send(res, 401, "Sign in", Pages.keyForm(url(LOGIN), back, "That API key is not valid."));
            return;
        }
        signedIn(req, res, who.get(), back);
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
        cookie(res, CodeFlow.COOKIE, "", CodeFlow.CALLBACK, Duration.ZERO);
        signedIn(req, res, done.who(), done.returnTo());
    }

    private void logout(ServerRequest req, ServerResponse res) {
        requireSameOrigin(req);
        sessions.close(cookie(req, Sessions.COOKIE));
        cookie(res, Sessions.COOKIE, "", "/", Duration.ZERO);
        Pages.redirect(res, url(LOGIN));
    }

    /** A new session for a person (only people sign in), replacing any the browser had. */
    private void signedIn(ServerRequest req, ServerResponse res, Principal who, ReturnPath back) {
        if (!who.isHuman())
            throw new SignInRefused(
                    403,
                    "Only people sign in to the console; " + who.id() + " is not a person ("
                            + who.kind().wire() + ").");
        sessions.close(cookie(req, Sessions.COOKIE));
        cookie(res, Sessions.COOKIE, sessions.open(who), "/", sessions.ttl());
        LOG.info("{} signed in to the console", who.id());
        Pages.redirect(res, url(back.value()));
    }

    /**
     * Forms that sign in or out must come from a page of this server: a browser names the page's
     * origin in {@code Origin} (and says {@code Sec-Fetch-Site}); one from another site is refused,
     * so that no other site can sign a person in as someone else, or out.
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
                .secure("https".equalsIgnoreCase(baseUrl.get().getScheme()));
        res.headers().addCookie((maxAge.isZero() ? c.expires(Instant.EPOCH) : c.maxAge(maxAge)).build());
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
