package io.countersign.server.console;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.server.ServerFixture;
import io.countersign.server.config.Channels;
import io.countersign.server.config.ServerConfig;
import io.countersign.server.console.Browser.Page;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Console sign-in through a real OpenID Connect provider, driven hop by hop as a browser would:
 * authorization code with PKCE, state bound to the browser, nonce, and return paths that stay here.
 */
class ConsoleOidcTest {
    static final Duration TTL = Duration.ofHours(1);

    @TempDir
    Path dir;

    MockIdp idp;
    ServerFixture fx;
    final Browser browser = new Browser();

    @BeforeEach
    void idp() {
        idp = new MockIdp(() -> fx == null ? ServerFixture.START : fx.clock.instant());
    }

    @AfterEach
    void stop() {
        if (fx != null) fx.close();
        idp.close();
    }

    void start(String clientSecret) {
        fx = new ServerFixture(
                dir,
                Path.of("..", "examples", "policy.yaml"),
                Map.of("dave", idp.link("dave-sub"), "alice", idp.link("alice-sub")),
                c -> c.withOidc(idp.oidc(clientSecret, TTL)));
    }

    @Test
    void signsInWithAnAuthorizationCodeAndPkceAndComesBackToTheReturnPath() {
        start(null);
        idp.nextSignIn("dave-sub", Map.of());
        Page toIdp = browser.get(login("/review/abc?x=1"));
        assertThat(toIdp.status()).isEqualTo(303);
        assertThat(toIdp.location())
                .startsWith(
                        idp.server.authorizationEndpointUrl(MockIdp.ISSUER_ID).toString());
        Map<String, String> ask = query(toIdp.location());
        assertThat(ask)
                .containsEntry("response_type", "code")
                .containsEntry("client_id", MockIdp.CLIENT_ID)
                .containsEntry("redirect_uri", url("/console/callback"))
                .containsEntry("scope", "openid email profile")
                .containsEntry("code_challenge_method", "S256");
        assertThat(ask.get("code_challenge")).matches("[A-Za-z0-9_-]{43}");
        assertThat(ask.get("state")).matches("[A-Za-z0-9_-]{43}");
        assertThat(ask.get("nonce")).matches("[A-Za-z0-9_-]{43}").isNotEqualTo(ask.get("state"));
        assertThat(toIdp.location()).as("the return path stays here").doesNotContain("review");
        assertThat(toIdp.setCookies())
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .startsWith("cs_signin=")
                .contains("Path=/console/callback", "HttpOnly", "SameSite=Lax");

        Page back = browser.follow(toIdp);
        assertThat(back.location()).startsWith(url("/console/callback?"));
        assertThat(query(back.location())).containsEntry("state", ask.get("state"));
        Page done = browser.follow(back);
        assertThat(done.status()).as(done.toString()).isEqualTo(303);
        assertThat(done.location()).isEqualTo(url("/review/abc?x=1"));
        assertThat(done.setCookies())
                .anySatisfy(c -> assertThat(c)
                        .startsWith("cs_session=")
                        .contains("Path=/", "HttpOnly", "SameSite=Lax")
                        .doesNotContain("Secure"));
        assertThat(done.setCookies())
                .anySatisfy(c -> assertThat(c)
                        .startsWith("cs_signin=;")
                        .contains("Path=/console/callback", "Expires=Thu, 1 Jan 1970"));

        String verifier = query("?" + tokenRequest().getUtf8Body()).get("code_verifier");
        assertThat(CodeFlow.challenge(verifier)).isEqualTo(ask.get("code_challenge"));
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>dave</b>");
    }

    @Test
    void aVerifierThatDoesNotMatchTheChallengeIsRefusedByTheIssuer() {
        start(null);
        Page toIdp = browser.get(login("/review/abc"));
        String other = CodeFlow.challenge("a-verifier-that-the-server-never-made-0123456789");
        Page back = browser.get(replace(toIdp.location(), "code_challenge", other));
        Page done = browser.follow(back);
        assertThat(done.status()).as(done.toString()).isEqualTo(502);
        assertThat(done.body()).contains("refused to complete the sign-in (invalid_grant)");
        assertNotSignedIn();
    }

    @Test
    void aCallbackWithAnotherStateIsRefused() {
        start(null);
        Page back = browser.follow(browser.get(login("/review/abc")));
        Page done = browser.get(replace(back.location(), "state", "forged-state-forged-state-forged-state-0000"));
        assertThat(done.status()).isEqualTo(400);
        assertThat(done.body()).contains("unknown or took too long");
        assertNotSignedIn();
    }

    @Test
    void aCallbackIsUsedOnce() {
        start(null);
        Page back = browser.follow(browser.get(login("/review/abc")));
        assertThat(browser.follow(back).status()).isEqualTo(303);
        Page again = browser.follow(back);
        assertThat(again.status()).isEqualTo(400);
    }

    @Test
    void aCallbackCarriedToAnotherBrowserIsRefused() {
        start(null);
        Page back = browser.follow(browser.get(login("/review/abc")));
        Browser victim = new Browser();
        Page done = victim.follow(back);
        assertThat(done.status()).isEqualTo(400);
        assertThat(done.body()).contains("started in another browser");
        assertThat(victim.cookie(url("/"), "cs_session")).isEmpty();
    }

    @Test
    void anIdTokenCarryingAnotherNonceIsRefused() {
        start(null);
        Page toIdp = browser.get(login("/review/abc"));
        Page back = browser.get(replace(toIdp.location(), "nonce", "a-nonce-the-server-never-sent"));
        Page done = browser.follow(back);
        assertThat(done.status()).isEqualTo(401);
        assertThat(done.body()).contains("nonce");
        assertNotSignedIn();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "https://evil.example/review/x",
                "//evil.example/review/x",
                "/\\evil.example/review/x",
                "javascript:alert(1)",
                "review/x",
                "/review/x\r\nSet-Cookie: cs_session=planted",
                "/ review"
            })
    void aReturnPathOffThisServerIsRefusedBeforeAnythingIsStarted(String returnTo) {
        start(null);
        Page p = browser.get(login(returnTo));
        assertThat(p.status()).isEqualTo(400);
        assertThat(p.location()).isNull();
        assertThat(p.setCookies()).isEmpty();
        assertThat(p.body()).contains("not a page of this server");
    }

    @Test
    void aSessionEndsAfterItsTtl() {
        start(null);
        idp.nextSignIn("dave-sub", Map.of());
        signIn("/console/login");
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>dave</b>");
        fx.clock.advance(TTL.minusSeconds(1));
        assertThat(browser.get(url("/console/login")).status()).isEqualTo(200);
        fx.clock.advance(Duration.ofSeconds(1));
        assertNotSignedIn();
    }

    @Test
    void claimsMapToThePrincipalAsForBearerTokens() {
        start(null);
        idp.nextSignIn("alice-sub", Map.of());
        signIn("/console/login");
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>alice</b>");

        Browser other = new Browser();
        idp.nextSignIn("ci-agent", Map.of("kind", "agent", "owner", "alice-sub"));
        Page done = other.follow(other.follow(other.get(login("/review/abc"))));
        assertThat(done.status()).isEqualTo(403);
        assertThat(done.body()).contains("Only people sign in to the console; ci-agent is not a person (agent)");
        assertThat(other.cookie(url("/"), "cs_session")).isEmpty();
    }

    /**
     * A token no declared identity links to is a person's only on evidence; signing in through the
     * console's code flow is that evidence, so a person whose ID token has no email is still one.
     * Their bearer token alone is not (it could be a machine's).
     */
    @Test
    void anUndeclaredPersonSignedInWithoutAnEmailIsAPerson() {
        start(null);
        idp.nextSignIn("erin-sub", Map.of("groups", List.of("security")));
        signIn("/console/login");
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>erin-sub</b>");
        assertThat(fx.server().identities().find("erin-sub"))
                .map(Principal::kind)
                .contains(PrincipalKind.HUMAN);

        String bearer = idp.bearer("frank-sub", Map.of("groups", List.of("security")));
        assertThat(fx.send(HttpRequest.newBuilder(fx.uri("/v1/requests")).header("Authorization", "Bearer " + bearer))
                        .status())
                .isEqualTo(200);
        assertThat(fx.server().identities().find("frank-sub"))
                .map(Principal::kind)
                .contains(PrincipalKind.SERVICE);
    }

    /** human_claim says which bearer tokens are people's; the console's sign-in needs no such claim (ID tokens often lack it). */
    @Test
    void aConsoleSignInIsAPersonWhateverHumanClaimSaysButNotAnAgent() {
        fx = new ServerFixture(
                dir,
                Path.of("..", "examples", "policy.yaml"),
                Map.of(),
                c -> c.withOidc(
                        idp.oidc(null, TTL, b -> b.humanClaim(new ServerConfig.ClaimMatch("roles", "reviewer")))));
        idp.nextSignIn("erin-sub", Map.of());
        signIn("/console/login");
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>erin-sub</b>");

        Browser other = new Browser();
        idp.nextSignIn("ci-agent", Map.of("kind", "agent", "owner", "erin-sub", "roles", List.of("reviewer")));
        Page done = other.follow(other.follow(other.get(login("/review/abc"))));
        assertThat(done.status()).isEqualTo(403);
        assertThat(done.body()).contains("ci-agent is not a person (agent)");
    }

    @Test
    void aConfidentialClientAuthenticatesWithItsSecret() throws Exception {
        start("s3cret");
        idp.nextSignIn("dave-sub", Map.of());
        signIn("/console/login");
        RecordedRequest token = tokenRequest();
        String basic =
                Base64.getEncoder().encodeToString((MockIdp.CLIENT_ID + ":s3cret").getBytes(StandardCharsets.UTF_8));
        assertThat(token.getHeader("Authorization")).isEqualTo("Basic " + basic);
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>dave</b>");
    }

    @Test
    void signingOutEndsTheSessionAndOnlyThisServersPagesMaySignOut() {
        start(null);
        idp.nextSignIn("dave-sub", Map.of());
        signIn("/console/login");
        Page forged = browser.post(url("/console/logout"), Map.of(), "https://evil.example");
        assertThat(forged.status()).isEqualTo(403);
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>dave</b>");

        Page withoutToken = browser.post(url("/console/logout"), Map.of());
        assertThat(withoutToken.status()).isEqualTo(403);
        Page out = browser.submit(browser.get(url("/console/login")), Map.of());
        assertThat(out.status()).isEqualTo(303);
        assertThat(out.setCookies())
                .anySatisfy(c -> assertThat(c).startsWith("cs_session=;").contains("Expires=Thu, 1 Jan 1970"));
        assertThat(browser.cookie(url("/"), "cs_session"))
                .as("the browser dropped it")
                .isEmpty();
        assertNotSignedIn();
    }

    @Test
    void apiKeysDoNotSignInWhenTheConsoleSignsInThroughAnIssuer() {
        start(null);
        Page p = browser.post(url("/console/login"), Map.of("api_key", fx.key("dave"), "return", "/console/login"));
        assertThat(p.status()).isEqualTo(403);
        assertThat(p.setCookies()).isEmpty();
    }

    @Test
    void theIssuersRefusalIsShownNotFollowed() {
        start(null);
        Page toIdp = browser.get(login("/review/abc"));
        String state = query(toIdp.location()).get("state");
        Page p = browser.get(url("/console/callback?error=access_denied&state=" + state));
        assertThat(p.status()).isEqualTo(401);
        assertThat(p.body()).contains("did not sign you in (access_denied)");
    }

    @Test
    void aSessionEndsWhenItsIdTokenExpiresIfThatIsBeforeItsTtl() {
        start(null);
        idp.nextSignIn("dave-sub", Map.of(), Duration.ofMinutes(10));
        Page done = browser.follow(browser.follow(browser.get(login("/console/login"))));
        assertThat(done.setCookies())
                .anySatisfy(c -> assertThat(c).startsWith("cs_session=").contains("Max-Age=600"));
        fx.clock.advance(Duration.ofMinutes(10).minusSeconds(1));
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>dave</b>");
        fx.clock.advance(Duration.ofSeconds(1));
        assertNotSignedIn();
    }

    @Test
    void startedSignInsAreKeptInTheBrowserNotOnTheServerSoNoNumberOfThemLocksSignInOut() throws Exception {
        start(null);
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
        HttpRequest abandoned =
                HttpRequest.newBuilder(URI.create(login("/review/abc"))).build();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
            List<java.util.concurrent.Future<Integer>> all = new java.util.ArrayList<>();
            for (int i = 0; i < 10_001; i++)
                all.add(pool.submit(() -> http.send(abandoned, HttpResponse.BodyHandlers.discarding())
                        .statusCode()));
            for (var f : all) assertThat(f.get()).isEqualTo(303);
        }
        idp.nextSignIn("dave-sub", Map.of());
        signIn("/console/login");
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>dave</b>");
    }

    @Test
    void anAlteredSignInCookieIsRefused() {
        start(null);
        Page toIdp = browser.get(login("/review/abc"));
        String sealed = browser.cookie(url("/console/callback"), "cs_signin").orElseThrow();
        // "/review/abc" cannot turn up by chance: '/' is not in the sealed cookie's base64url alphabet
        // ("abc" alone did, about once in 2,500 runs).
        assertThat(sealed).as("sealed: nothing in it can be read").doesNotContain("/review/abc", "review/");
        Page back = browser.follow(toIdp);
        char c = sealed.charAt(20);
        Browser tampered = new Browser();
        tampered.setCookie(
                url("/"), "cs_signin", sealed.substring(0, 20) + (c == 'A' ? 'B' : 'A') + sealed.substring(21));
        Page done = tampered.follow(back);
        assertThat(done.status()).isEqualTo(400);
        assertThat(tampered.cookie(url("/"), "cs_session")).isEmpty();
    }

    @Test
    void behindAPathPrefixTheSignInCookieIsForThePrefixedCallback() {
        fx = new ServerFixture(
                dir,
                Path.of("..", "examples", "policy.yaml"),
                Map.of("dave", idp.link("dave-sub")),
                c -> c.withOidc(idp.oidc(null, TTL))
                        .withChannels(Channels.none().withPublicUrl(URI.create("https://countersign.example/cs"))));
        Page toIdp = browser.get(login("/review/abc"));
        assertThat(query(toIdp.location()))
                .containsEntry("redirect_uri", "https://countersign.example/cs/console/callback");
        assertThat(toIdp.setCookies())
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .startsWith("cs_signin=")
                .contains("Path=/cs/console/callback", "Secure", "HttpOnly");
    }

    private void signIn(String returnTo) {
        Page done = browser.follow(browser.follow(browser.get(login(returnTo))));
        assertThat(done.status()).as(done.toString()).isEqualTo(303);
    }

    private void assertNotSignedIn() {
        Page p = browser.get(url("/console/login"));
        assertThat(p.status())
                .as("a browser that is not signed in is sent to the issuer")
                .isEqualTo(303);
        assertThat(p.location()).startsWith(idp.issuer);
    }

    private RecordedRequest tokenRequest() {
        for (int i = 0; i < 20; i++) {
            RecordedRequest r = idp.server.takeRequest(5, TimeUnit.SECONDS);
            if (r != null && r.getPath().startsWith("/" + MockIdp.ISSUER_ID + "/token")) return r;
        }
        throw new AssertionError("the token endpoint was not called");
    }

    private String login(String returnTo) {
        return url("/console/login?return=" + URLEncoder.encode(returnTo, StandardCharsets.UTF_8));
    }

    private String url(String path) {
        return fx.uri(path).toString();
    }

    static Map<String, String> query(String url) {
        Map<String, String> out = new LinkedHashMap<>();
        String q = url.substring(url.indexOf('?') + 1);
        for (String pair : q.split("&")) {
            int eq = pair.indexOf('=');
            out.put(
                    URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                    URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return out;
    }

    static String replace(String url, String name, String value) {
        Map<String, String> q = query(url);
        q.put(name, value);
        StringBuilder sb = new StringBuilder(url.substring(0, url.indexOf('?') + 1));
        List<String> parts = q.entrySet().stream()
                .map(e -> e.getKey() + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .toList();
        return URI.create(sb + String.join("&", parts)).toString();
    }
}
