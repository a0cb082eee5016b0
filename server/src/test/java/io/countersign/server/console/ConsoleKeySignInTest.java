package io.countersign.server.console;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.server.ServerFixture;
import io.countersign.server.config.Channels;
import io.countersign.server.console.Browser.Page;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Console sign-in with a Countersign API key: what a server without an identity provider (the demo) offers. */
class ConsoleKeySignInTest {
    @TempDir
    Path dir;

    ServerFixture fx;
    final Browser browser = new Browser();

    @BeforeEach
    void start() {
        fx = new ServerFixture(dir, Path.of("..", "examples", "policy.yaml"), Map.of(), c -> c);
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    @Test
    void showsAKeyFormThatCachesFramesAndRefersNothing() {
        Page p = browser.get(login("/review/abc"));
        assertThat(p.status()).isEqualTo(200);
        assertThat(p.header("Content-Type")).startsWith("text/html");
        assertThat(p.header("Cache-Control")).isEqualTo("no-store");
        assertThat(p.header("Referrer-Policy")).isEqualTo("no-referrer");
        assertThat(p.header("X-Frame-Options")).isEqualTo("DENY");
        assertThat(p.header("Content-Security-Policy")).contains("default-src 'none'", "frame-ancestors 'none'");
        assertThat(p.body())
                .contains("name=\"api_key\"", "type=\"password\"")
                .contains("name=\"return\" value=\"/review/abc\"");
    }

    @Test
    void aPersonsKeySignsThemInAndSendsThemBack() {
        Page p = browser.submit(browser.get(login("/review/abc")), Map.of("api_key", fx.key("dave")));
        assertThat(p.status()).isEqualTo(303);
        assertThat(p.location()).isEqualTo(url("/review/abc"));
        assertThat(p.setCookies())
                .anySatisfy(c -> assertThat(c)
                        .startsWith("cs_session=")
                        .contains("Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=28800"));
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>dave</b>");
    }

    @Test
    void aWrongKeySignsNoOneIn() {
        Page p = browser.submit(browser.get(login("/review/abc")), Map.of("api_key", "cs_not-a-key"));
        assertThat(p.status()).isEqualTo(401);
        assertThat(p.body()).contains("That API key is not valid").doesNotContain("cs_not-a-key");
        assertThat(p.setCookies()).noneMatch(c -> c.startsWith("cs_session"));
        assertThat(browser.submit(p, Map.of("api_key", fx.key("dave"))).status())
                .as("the form shown again works")
                .isEqualTo(303);
    }

    @Test
    void onlyPeopleSignIn() {
        Page p = browser.submit(browser.get(url("/console/login")), Map.of("api_key", fx.key("deploy-bot")));
        assertThat(p.status()).isEqualTo(403);
        assertThat(p.body()).contains("Only people sign in to the console; deploy-bot is not a person (agent)");
        assertThat(p.setCookies()).isEmpty();
    }

    @Test
    void aSignInFormPostedFromAnotherSiteIsRefused() {
        Map<String, String> form =
                new java.util.HashMap<>(browser.get(url("/console/login")).hidden());
        form.put("api_key", fx.key("dave"));
        Page p = browser.post(url("/console/login"), form, "https://evil.example");
        assertThat(p.status()).isEqualTo(403);
        assertThat(p.setCookies()).isEmpty();
    }

    @Test
    void aReturnPathToAnotherSiteIsRefused() {
        Page p = browser.submit(
                browser.get(url("/console/login")), Map.of("api_key", fx.key("dave"), "return", "//evil.example/"));
        assertThat(p.status()).isEqualTo(400);
        assertThat(p.location()).isNull();
        assertThat(p.setCookies()).isEmpty();
    }

    @Test
    void signingInAgainReplacesTheSessionAndTheOldOneEnds() {
        Page form = browser.get(url("/console/login")); // a second tab keeps the form open
        browser.submit(form, Map.of("api_key", fx.key("dave")));
        String first = browser.cookie(url("/"), "cs_session").orElseThrow();
        browser.submit(form, Map.of("api_key", fx.key("carol")));
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>carol</b>");

        Browser replay = new Browser();
        replay.setCookie(url("/"), "cs_session", first);
        assertThat(replay.get(url("/console/login")).body()).contains("name=\"api_key\"");
    }

    @Test
    void aSessionLastsEightHoursByDefault() {
        signIn("dave");
        fx.clock.advance(Duration.ofHours(8).minusSeconds(1));
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>dave</b>");
        fx.clock.advance(Duration.ofSeconds(1));
        assertThat(browser.get(url("/console/login")).body()).contains("name=\"api_key\"");
    }

    @Test
    void aForgedSessionCookieSignsNoOneIn() {
        browser.setCookie(url("/"), "cs_session", "forged-forged-forged-forged-forged-forged-00");
        assertThat(browser.get(url("/console/login")).body()).contains("name=\"api_key\"");
    }

    @Test
    void aSignInFormWithoutItsFormTokenIsRefusedEvenWhenTheBrowserSaysNothingOfWhereItComesFrom() {
        browser.get(url("/console/login")); // this browser holds a form cookie of its own
        Page forged = send(HttpRequest.newBuilder(URI.create(url("/console/login")))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("api_key=" + fx.key("dave") + "&return=%2Fconsole%2Flogin")));
        assertThat(forged.status()).isEqualTo(403);
        assertThat(forged.setCookies()).isEmpty();

        Page otherToken = browser.post(
                url("/console/login"),
                Map.of("api_key", fx.key("dave"), "csrf", "a-token-this-browser-was-never-given-000000"));
        assertThat(otherToken.status()).isEqualTo(403);
        assertThat(browser.get(url("/console/login")).body()).contains("name=\"api_key\"");
    }

    @Test
    void signingOutNeedsTheSignedInPagesFormToken() {
        signIn("dave");
        Page forged = browser.post(url("/console/logout"), Map.of());
        assertThat(forged.status()).isEqualTo(403);
        Page signedIn = browser.get(url("/console/login"));
        assertThat(signedIn.body()).contains("signed in as <b>dave</b>");

        Page out = browser.submit(signedIn, Map.of());
        assertThat(out.status()).isEqualTo(303);
        assertThat(browser.get(url("/console/login")).body()).contains("name=\"api_key\"");
    }

    @Test
    void onHttpsTheSessionCookieIsAHostCookieAndOtherCookiesFollowThePublicPath() {
        fx.close();
        fx = publicAt("https://countersign.example");
        Page form = send(HttpRequest.newBuilder(URI.create(url("/console/login"))));
        String formCookie = cookie(form, "cs_form");
        assertThat(form.setCookies())
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("Path=/console/login", "Secure", "HttpOnly");
        Page done = send(keyForm(form, formCookie, "dave"));
        assertThat(done.status()).as(done.toString()).isEqualTo(303);
        assertThat(done.location()).isEqualTo("https://countersign.example/console/login");
        assertThat(done.setCookies())
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .startsWith("__Host-cs_session=")
                .contains("Path=/;", "Secure", "HttpOnly", "SameSite=Lax")
                .doesNotContainIgnoringCase("Domain");
        String session = cookie(done, "__Host-cs_session");
        Page signedIn = send(HttpRequest.newBuilder(URI.create(url("/console/login")))
                .header("Cookie", "__Host-cs_session=" + session));
        assertThat(signedIn.body()).contains("signed in as <b>dave</b>");
        Page plain = send(
                HttpRequest.newBuilder(URI.create(url("/console/login"))).header("Cookie", "cs_session=" + session));
        assertThat(plain.body()).as("only the __Host- cookie counts").contains("name=\"api_key\"");

        fx.close();
        fx = publicAt("http://countersign.example/approvals");
        form = send(HttpRequest.newBuilder(URI.create(url("/console/login"))));
        assertThat(form.setCookies())
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("Path=/approvals/console/login")
                .doesNotContain("Secure");
        done = send(keyForm(form, cookie(form, "cs_form"), "dave"));
        assertThat(done.location()).isEqualTo("http://countersign.example/approvals/console/login");
        assertThat(done.setCookies())
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .startsWith("cs_session=")
                .contains("Path=/approvals/;");
    }

    private ServerFixture publicAt(String publicUrl) {
        return new ServerFixture(
                dir,
                Path.of("..", "examples", "policy.yaml"),
                Map.of(),
                c -> c.withChannels(Channels.none().withPublicUrl(URI.create(publicUrl))));
    }

    /** The key form of {@code form} posted with its cookie, as a browser on the public URL would. */
    private HttpRequest.Builder keyForm(Page form, String formCookie, String who) {
        String body = "csrf=" + form.hidden().get("csrf") + "&return=%2Fconsole%2Flogin&api_key=" + fx.key(who);
        return HttpRequest.newBuilder(URI.create(url("/console/login")))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Cookie", "cs_form=" + formCookie)
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    private static String cookie(Page p, String name) {
        return p.setCookies().stream()
                .filter(c -> c.startsWith(name + "="))
                .map(c -> c.substring(name.length() + 1, c.indexOf(';')))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " cookie: " + p.setCookies()));
    }

    private Page send(HttpRequest.Builder req) {
        ServerFixture.Reply r = fx.send(req);
        return new Page(r.status(), r.headers(), r.body(), URI.create(url("/")));
    }

    private void signIn(String who) {
        Page p = browser.submit(browser.get(url("/console/login")), Map.of("api_key", fx.key(who)));
        assertThat(p.status()).as(p.toString()).isEqualTo(303);
    }

    private String login(String returnTo) {
        return url("/console/login?return=" + URLEncoder.encode(returnTo, StandardCharsets.UTF_8));
    }

    private String url(String path) {
        return fx.uri(path).toString();
    }
}
