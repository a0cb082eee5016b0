package io.countersign.server.console;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.server.ServerFixture;
import io.countersign.server.console.Browser.Page;
import java.net.URLEncoder;
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
        Page p = browser.post(url("/console/login"), Map.of("api_key", fx.key("dave"), "return", "/review/abc"));
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
        Page p = browser.post(url("/console/login"), Map.of("api_key", "cs_not-a-key", "return", "/review/abc"));
        assertThat(p.status()).isEqualTo(401);
        assertThat(p.body()).contains("That API key is not valid").doesNotContain("cs_not-a-key");
        assertThat(p.setCookies()).isEmpty();
    }

    @Test
    void onlyPeopleSignIn() {
        Page p = browser.post(
                url("/console/login"), Map.of("api_key", fx.key("deploy-bot"), "return", "/console/login"));
        assertThat(p.status()).isEqualTo(403);
        assertThat(p.body()).contains("Only people sign in to the console; deploy-bot is not a person (agent)");
        assertThat(p.setCookies()).isEmpty();
    }

    @Test
    void aSignInFormPostedFromAnotherSiteIsRefused() {
        Page p = browser.post(
                url("/console/login"),
                Map.of("api_key", fx.key("dave"), "return", "/console/login"),
                "https://evil.example");
        assertThat(p.status()).isEqualTo(403);
        assertThat(p.setCookies()).isEmpty();
    }

    @Test
    void aReturnPathToAnotherSiteIsRefused() {
        Page p = browser.post(url("/console/login"), Map.of("api_key", fx.key("dave"), "return", "//evil.example/"));
        assertThat(p.status()).isEqualTo(400);
        assertThat(p.location()).isNull();
        assertThat(p.setCookies()).isEmpty();
    }

    @Test
    void signingInAgainReplacesTheSessionAndTheOldOneEnds() {
        browser.post(url("/console/login"), Map.of("api_key", fx.key("dave"), "return", "/console/login"));
        String first = browser.cookie(url("/"), "cs_session").orElseThrow();
        browser.post(url("/console/login"), Map.of("api_key", fx.key("carol"), "return", "/console/login"));
        assertThat(browser.get(url("/console/login")).body()).contains("signed in as <b>carol</b>");

        Browser replay = new Browser();
        replay.setCookie(url("/"), "cs_session", first);
        assertThat(replay.get(url("/console/login")).body()).contains("name=\"api_key\"");
    }

    @Test
    void aSessionLastsEightHoursByDefault() {
        browser.post(url("/console/login"), Map.of("api_key", fx.key("dave"), "return", "/console/login"));
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

    private String login(String returnTo) {
        return url("/console/login?return=" + URLEncoder.encode(returnTo, StandardCharsets.UTF_8));
    }

    private String url(String path) {
        return fx.uri(path).toString();
    }
}
