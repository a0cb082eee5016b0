package io.countersign.server.channels;

import static io.countersign.server.channels.EmailChannelTest.events;
import static io.countersign.server.channels.EmailChannelTest.link;
import static io.countersign.server.channels.EmailChannelTest.smtp;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.RequestId;
import io.countersign.core.json.Json;
import io.countersign.server.ServerFixture;
import io.countersign.server.ServerFixture.Reply;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The page review links open: GET shows and changes nothing, only its form's POST reviews. */
class ReviewPageTest {
    @TempDir
    Path dir;

    final EmailChannelTest.Mailbox mailbox = new EmailChannelTest.Mailbox();
    ServerFixture fx;
    String id;

    @BeforeEach
    void start() {
        mailbox.start();
        fx = EmailChannelTest.start(dir, Path.of("..", "examples", "policy.yaml"), smtp(mailbox.port));
        id = fx.submitted(ServerFixture.PII_EXPORT);
    }

    @AfterEach
    void stop() {
        fx.close();
        mailbox.close();
    }

    @Test
    void openingALinkShowsTheWholeRequestAndChangesNothing() throws Exception {
        String bob = emailedLink("bob");
        for (int i = 0; i < 3; i++) { // a mail scanner, a preview, then the person
            Reply page = get(bob);
            assertThat(page.status()).isEqualTo(200);
            assertThat(page.body())
                    .contains("Review: db.export on table customers in prod")
                    .contains("deploy-bot (agent, owned by alice)")
                    .contains("&quot;table&quot; : &quot;customers&quot;") // the parameters, escaped
                    .contains("churn analysis")
                    .contains(fx.get("alice", "/v1/requests/" + id)
                            .json()
                            .path("digest")
                            .asText())
                    .contains("Reason (required)")
                    .contains("name=\"reason\" maxlength=\"2000\" required")
                    .contains("<form method=\"post\">");
        }
        assertThat(fx.get("alice", "/v1/requests/" + id).state()).isEqualTo("pending");
        assertThat(events(fx, id, "review.recorded")).isEmpty();
        assertThat(events(fx, id, "review.refused")).isEmpty();
        assertThat(post(fx, bob, "verdict=approve&reason=ok").status())
                .as("still usable")
                .isEqualTo(200);
    }

    @Test
    void everyPageForbidsCachingFramingReferrersAndSubresources() throws Exception {
        String bob = emailedLink("bob");
        for (Reply r : new Reply[] {get(bob), get(bob + "x"), post(fx, bob, "verdict=maybe")}) {
            assertThat(r.header("Content-Type")).isEqualTo("text/html; charset=utf-8");
            assertThat(r.header("Cache-Control")).isEqualTo("no-store");
            assertThat(r.header("Referrer-Policy")).isEqualTo("no-referrer");
            assertThat(r.header("X-Frame-Options")).isEqualTo("DENY");
            assertThat(r.header("Content-Security-Policy"))
                    .startsWith("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
        }
    }

    @Test
    void aLinkWorksOnceAndASecondPostIsRefused() throws Exception {
        String bob = emailedLink("bob");
        assertThat(post(fx, bob, "verdict=approve&reason=ok").status()).isEqualTo(200);
        Reply again = post(fx, bob, "verdict=deny&reason=changed+my+mind");
        assertThat(again.status()).isEqualTo(410);
        assertThat(again.body()).contains("This link was used already");
        assertThat(events(fx, id, "review.recorded").findValuesAsText("verdict"))
                .containsExactly("approve");
        assertThat(get(bob).body())
                .contains("You have reviewed this request already")
                .doesNotContain("<form");
    }

    @Test
    void aTamperedOrForgedLinkIsRefusedAndRecordsNothing() throws Exception {
        String bob = emailedLink("bob");
        String token = bob.substring(bob.lastIndexOf('/') + 1);
        String[] parts = token.split("\\.");
        String flipped = parts[0] + "." + (parts[1].charAt(0) == 'A' ? 'B' : 'A') + parts[1].substring(1);
        for (String forged : new String[] {flipped, "x" + token, "not-a-token", parts[0] + "."}) {
            Reply shown = get(fx.uri("/review/" + forged).toString());
            assertThat(shown.status()).as(forged).isEqualTo(404);
            assertThat(shown.body()).contains("This link is not valid");
            assertThat(post(fx, fx.uri("/review/" + forged).toString(), "verdict=approve&reason=ok")
                            .status())
                    .isEqualTo(404);
        }
        assertThat(events(fx, id, "review.recorded")).isEmpty();
    }

    @Test
    void aLinkReviewsOnlyItsOwnRequest() throws Exception {
        String bobForFirst = emailedLink("bob");
        String second = fx.submitted(ServerFixture.PII_EXPORT.replace("churn", "retention"));
        WebhookChannelTest.awaitTrue(() -> mailbox.to("bob@example.com").size() == 2);
        String bobForSecond = link(mailbox.to("bob@example.com").get(1));
        String first = token(bobForFirst);
        String other = token(bobForSecond);
        // the second request's claims under the first link's signature
        String spliced = other.substring(0, other.indexOf('.')) + first.substring(first.indexOf('.'));
        assertThat(post(fx, fx.uri("/review/" + spliced).toString(), "verdict=approve&reason=ok")
                        .status())
                .isEqualTo(404);

        assertThat(post(fx, bobForFirst, "verdict=approve&reason=ok").status()).isEqualTo(200);
        assertThat(events(fx, id, "review.recorded")).hasSize(1);
        assertThat(events(fx, second, "review.recorded")).isEmpty();
    }

    @Test
    void anExpiredLinkIsRefused() throws Exception {
        String bob = emailedLink("bob");
        fx.clock.advance(Duration.ofMinutes(31)); // the request's pending_ttl is 30m
        Reply shown = get(bob);
        assertThat(shown.status()).isEqualTo(410);
        assertThat(shown.body()).contains("This link has expired");
        assertThat(post(fx, bob, "verdict=approve&reason=ok").status()).isEqualTo(410);
        assertThat(events(fx, id, "review.recorded")).isEmpty();
    }

    @Test
    void aMissingReasonShowsTheFormAgainAndLeavesTheLinkUsable() throws Exception {
        String bob = emailedLink("bob");
        Reply missing = post(fx, bob, "verdict=approve&reason=+++");
        assertThat(missing.status()).isEqualTo(422);
        assertThat(missing.body()).contains("needs a reason").contains("<form method=\"post\">");
        assertThat(events(fx, id, "review.refused")).isEmpty();

        assertThat(post(fx, bob, "verdict=approve&reason=looked+at+it").status())
                .isEqualTo(200);
        assertThat(events(fx, id, "review.recorded").findValuesAsText("reason")).containsExactly("looked at it");
    }

    @Test
    void aDenialFromTheLinkDeniesTheRequest() throws Exception {
        Reply denied = post(fx, emailedLink("carol"), "verdict=deny&reason=not+this+quarter");
        assertThat(denied.status()).isEqualTo(200);
        assertThat(denied.body()).contains("Denied.");
        assertThat(fx.get("alice", "/v1/requests/" + id).state()).isEqualTo("denied");
        assertThat(events(fx, id, "request.denied").findValuesAsText("reason")).containsExactly("not this quarter");
    }

    @Test
    void separationOfDutiesAppliesToAGenuineLinkExactlyAsOnTheApi() throws Exception {
        String alices = issue("alice"); // signed with the server's own key: only policy stands in the way
        Reply shown = get(alices);
        assertThat(shown.status()).isEqualTo(403);
        assertThat(shown.body())
                .contains("owns the requesting agent deploy-bot")
                .doesNotContain("<form");

        Reply posted = post(fx, alices, "verdict=approve&reason=mine");
        assertThat(posted.status()).isEqualTo(403);
        assertThat(posted.body()).contains("Your review was refused");
        var refused = events(fx, id, "review.refused");
        assertThat(refused.findValuesAsText("refusal")).containsExactly("owner-review");
        assertThat(refused.findValuesAsText("channel")).containsExactly("email");
        assertThat(fx.get("alice", "/v1/requests/" + id).state()).isEqualTo("pending");
    }

    @Test
    void aLinkForASettledRequestSaysSoAndItsPostIsARecordedRefusal() throws Exception {
        String bob = emailedLink("bob");
        fx.review("carol", id, "deny", "no");
        Reply shown = get(bob);
        assertThat(shown.status()).isEqualTo(200);
        assertThat(shown.body()).contains("This request is denied").doesNotContain("<form");
        Reply posted = post(fx, bob, "verdict=approve&reason=ok");
        assertThat(posted.status()).isEqualTo(409);
        assertThat(events(fx, id, "review.refused").findValuesAsText("refusal")).containsExactly("not-pending");
    }

    @Test
    void aLinkNotSentToOnePersonAsksWhoeverOpensItToSignInFirst() throws Exception {
        String anyone = issue(null);
        Reply shown = get(anyone);
        assertThat(shown.status()).isEqualTo(403);
        assertThat(shown.body()).contains("sign in first").contains("/console/login?return=%2Freview%2F");
        assertThat(post(fx, anyone, "verdict=approve&reason=ok").status()).isEqualTo(403);
        assertThat(events(fx, id, "review.recorded")).isEmpty();
    }

    @Test
    void aLinkNotSentToOnePersonWorksOnceForEachPersonWhoSignsIn() throws Exception {
        String anyone = issue(null);
        String bob = signIn("bob");
        Reply page = fx.send(HttpRequest.newBuilder(URI.create(anyone)).header("Cookie", bob));
        assertThat(page.body()).contains("You are reviewing as <strong>bob</strong>");
        String asBob = "verdict=approve&reason=ok&csrf=" + formToken(fx, anyone, "bob");
        assertThat(fx.send(form(anyone, asBob).header("Cookie", bob)).status()).isEqualTo(200);
        assertThat(fx.send(form(anyone, asBob).header("Cookie", bob)).status()).isEqualTo(410);
        String asCarol = "verdict=approve&reason=ok&csrf=" + formToken(fx, anyone, "carol");
        assertThat(fx.send(form(anyone, asCarol).header("Cookie", signIn("carol")))
                        .body())
                .contains("Approved.");
        assertThat(events(fx, id, "review.recorded").findValuesAsText("actor")).containsExactly("bob", "carol");
    }

    /** Signs {@code who} in to the console with their API key, as the key form does; the session cookie. */
    private String signIn(String who) {
        Reply page = fx.send(HttpRequest.newBuilder(fx.uri("/console/login")));
        String formCookie = page.headers().allValues("Set-Cookie").stream()
                .filter(c -> c.startsWith("cs_form="))
                .map(c -> c.substring(0, c.indexOf(';')))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no form cookie: " + page));
        java.util.regex.Matcher csrf = java.util.regex.Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"")
                .matcher(page.body());
        assertThat(csrf.find()).isTrue();
        Reply r = fx.send(form(fx.uri("/console/login").toString(), "api_key=" + fx.key(who) + "&csrf=" + csrf.group(1))
                .header("Cookie", formCookie));
        return r.headers().allValues("Set-Cookie").stream()
                .filter(c -> c.startsWith("cs_session="))
                .map(c -> c.substring(0, c.indexOf(';')))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no session cookie: " + r));
    }

    @Test
    void aFormPostedFromAnotherSiteIsRefusedAndTheLinkStaysUsable() throws Exception {
        String bob = emailedLink("bob");
        Reply crossSite = fx.send(form(bob, "verdict=approve&reason=ok").header("Sec-Fetch-Site", "cross-site"));
        assertThat(crossSite.status()).isEqualTo(403);
        Reply otherOrigin = fx.send(form(bob, "verdict=approve&reason=ok").header("Origin", "https://evil.example"));
        assertThat(otherOrigin.status()).isEqualTo(403);
        assertThat(events(fx, id, "review.recorded")).isEmpty();

        Reply ours = fx.send(form(bob, withFormToken(fx, bob, "verdict=approve&reason=ok"))
                .header("Sec-Fetch-Site", "same-origin")
                .header("Origin", "null"));
        assertThat(ours.status()).isEqualTo(200);
    }

    @Test
    void aBadFormIsRefusedWithoutSpendingTheLink() throws Exception {
        String bob = emailedLink("bob");
        assertThat(post(fx, bob, "verdict=maybe&reason=ok").status()).isEqualTo(400);
        assertThat(post(fx, bob, "reason=ok").status()).isEqualTo(400);
        assertThat(post(fx, bob, "verdict=approve&reason=%zz").status()).isEqualTo(400);
        assertThat(post(fx, bob, "verdict=approve&reason=" + "a".repeat(20_000)).status())
                .isEqualTo(413);
        assertThat(fx.send(HttpRequest.newBuilder(URI.create(bob))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString("{\"verdict\":\"approve\"}")))
                        .status())
                .isEqualTo(415);
        assertThat(post(fx, bob, "verdict=approve&reason=ok").status()).isEqualTo(200);
    }

    @Test
    void theAgentsTextIsEscapedOnThePage() throws Exception {
        String hostile = fx.submitted(ServerFixture.PII_EXPORT
                .replace("churn analysis", "<script>alert(1)</script>{{body}}")
                .replace("\"table\": \"customers\"", "\"table\": \"<img src=x onerror=alert(2)>\""));
        Reply page = get(issue("bob", hostile));
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.body())
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;{{body}}")
                .contains("&lt;img src=x onerror=alert(2)&gt;")
                .doesNotContain("<script>")
                .doesNotContain("<img");
    }

    @Test
    void aSharedLinkShowsOnlyWhatTheCardShowedUntilSomeoneWhoMayReviewTheRequestSignsIn() throws Exception {
        String anyone = issue(null);
        String digest =
                fx.get("alice", "/v1/requests/" + id).json().path("digest").asText();
        Reply anonymous = get(anyone);
        assertThat(anonymous.status()).isEqualTo(403);
        assertThat(anonymous.body())
                .contains("sign in first")
                .contains("db.export")
                .contains("table customers in prod")
                .contains(digest.substring(0, 16));
        assertHidesTheDetails(anonymous, digest);
        for (String who : List.of("alice", "dave")) { // the agent's owner; someone the request does not ask
            Reply refused = fx.send(HttpRequest.newBuilder(URI.create(anyone)).header("Cookie", signIn(who)));
            assertThat(refused.status()).as(who).isEqualTo(403);
            assertThat(refused.body())
                    .as(who)
                    .contains("You cannot review this request")
                    .doesNotContain("<form");
            assertHidesTheDetails(refused, digest);
        }

        String bob = signIn("bob");
        Reply shown = fx.send(HttpRequest.newBuilder(URI.create(anyone)).header("Cookie", bob));
        assertThat(shown.status()).isEqualTo(200);
        assertThat(shown.body())
                .contains("&quot;table&quot; : &quot;customers&quot;")
                .contains(digest)
                .contains("<form method=\"post\">");

        fx.review("carol", id, "deny", "no");
        Reply settled = fx.send(HttpRequest.newBuilder(URI.create(anyone)).header("Cookie", bob));
        assertThat(settled.body()).contains("This request is denied");
        assertHidesTheDetails(settled, digest);
    }

    private static void assertHidesTheDetails(Reply page, String digest) {
        assertThat(page.body())
                .as("no parameters, no context, no full digest")
                .doesNotContain("&quot;table&quot;")
                .doesNotContain("Parameters")
                .doesNotContain(digest);
    }

    @Test
    void aReviewThatCannotBeRecordedLeavesTheLinkUsable() throws Exception {
        String bob = emailedLink("bob");
        Path db = fx.server().config().dataDir().resolve("countersign.db");
        sql(
                db,
                "CREATE TRIGGER refuse_updates BEFORE UPDATE ON requests BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
        Reply failed = post(fx, bob, "verdict=approve&reason=ok");
        assertThat(failed.status()).as(failed.body()).isEqualTo(503);
        assertThat(events(fx, id, "review.recorded")).isEmpty();

        sql(db, "DROP TRIGGER refuse_updates");
        Reply again = post(fx, bob, "verdict=approve&reason=ok");
        assertThat(again.status()).as(again.body()).isEqualTo(200);
        assertThat(events(fx, id, "review.recorded").findValuesAsText("actor")).containsExactly("bob");
        assertThat(post(fx, bob, "verdict=approve&reason=ok").status())
                .as("and then it is spent")
                .isEqualTo(410);
    }

    private static void sql(Path db, String statement) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
                Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }

    @Test
    void anEmailedLinkIsRefusedInABrowserSignedInAsSomeoneElse() throws Exception {
        String bob = emailedLink("bob");
        assertThat(fx.send(HttpRequest.newBuilder(URI.create(bob)).header("Cookie", signIn("bob")))
                        .status())
                .as("signed in as its approver")
                .isEqualTo(200);
        String carol = signIn("carol");
        Reply shown = fx.send(HttpRequest.newBuilder(URI.create(bob)).header("Cookie", carol));
        assertThat(shown.status()).isEqualTo(403);
        assertThat(shown.body())
                .contains("signed in to Countersign as carol")
                .doesNotContain("<form")
                .doesNotContain("&quot;table&quot;");
        Reply posted = fx.send(
                form(bob, withFormToken(fx, bob, "verdict=approve&reason=ok")).header("Cookie", carol));
        assertThat(posted.status()).isEqualTo(403);
        assertThat(events(fx, id, "review.recorded")).isEmpty();
        assertThat(events(fx, id, "review.refused")).isEmpty();

        assertThat(post(fx, bob, "verdict=approve&reason=ok").status())
                .as("still usable")
                .isEqualTo(200);
        assertThat(events(fx, id, "review.recorded").findValuesAsText("actor")).containsExactly("bob");
    }

    @Test
    void aFormWithoutItsPagesFormTokenIsRefusedEvenWhenTheBrowserSendsNoOriginHeaders() throws Exception {
        String bob = emailedLink("bob");
        Reply bare = fx.send(form(bob, "verdict=approve&reason=ok")); // no Origin, no Sec-Fetch-Site, no token
        assertThat(bare.status()).isEqualTo(403);
        Reply carols = fx.send(form(bob, "verdict=approve&reason=ok&csrf=" + formToken(fx, bob, "carol")));
        assertThat(carols.status()).isEqualTo(403);
        String anyone = issue(null);
        Reply shared = fx.send(form(anyone, "verdict=approve&reason=ok").header("Cookie", signIn("bob")));
        assertThat(shared.status()).isEqualTo(403);
        assertThat(events(fx, id, "review.recorded")).isEmpty();
        assertThat(events(fx, id, "review.refused")).isEmpty();

        Matcher hidden = Pattern.compile("<input type=\"hidden\" name=\"csrf\" value=\"([^\"]+)\">")
                .matcher(get(bob).body());
        assertThat(hidden.find()).isTrue();
        assertThat(fx.send(form(bob, "verdict=approve&reason=ok&csrf=" + hidden.group(1)))
                        .status())
                .isEqualTo(200);
    }

    @Test
    void anUnexpectedFailureAnswersAPlainPageAndIsLoggedWithoutTheToken() {
        String token = "eyJjaCI6InRlYW1zIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
        RuntimeException failure = new IllegalStateException(
                "broken while reading /review/" + token, new IllegalArgumentException("at " + token));
        ReviewPage.Page page = ReviewPage.answer(token, () -> {
            throw failure;
        });
        assertThat(page.status()).isEqualTo(500);
        assertThat(page.body()).doesNotContain(token).doesNotContain("broken");
        assertThat(ReviewPage.described(failure, token))
                .contains("IllegalStateException: broken while reading /review/<token>")
                .contains("caused by java.lang.IllegalArgumentException")
                .doesNotContain(token);
    }

    private String emailedLink(String who) throws Exception {
        return link(mailbox.awaitOne(who + "@example.com"));
    }

    /** A link signed with the server's own link key, as a channel would issue it. */
    private String issue(String approver) {
        return issue(approver, id);
    }

    private String issue(String approver, String requestId) {
        SecureRandom random = new SecureRandom();
        ReviewLinks links = new ReviewLinks(ReviewLinks.key(null, dir, random), fx.clock, null, random);
        String digest = fx.get("alice", "/v1/requests/" + requestId)
                .json()
                .path("digest")
                .asText();
        Instant expires = fx.clock.instant().plus(Duration.ofMinutes(30));
        return fx.uri("/review/" + links.issue("email", new RequestId(requestId), digest, approver, expires))
                .toString();
    }

    private static String token(String link) {
        return link.substring(link.lastIndexOf('/') + 1);
    }

    private Reply get(String link) {
        return fx.send(HttpRequest.newBuilder(URI.create(link)));
    }

    /** Posts {@code form} as the link's own page would: with the form token for the link's approver. */
    static Reply post(ServerFixture fx, String link, String form) {
        return fx.send(form(link, withFormToken(fx, link, form)));
    }

    private static String withFormToken(ServerFixture fx, String link, String form) {
        String approver = approver(link);
        return approver == null ? form : form + "&csrf=" + formToken(fx, link, approver);
    }

    /** The form token the page of {@code link} gives {@code reviewer}, made with the server's link key. */
    static String formToken(ServerFixture fx, String link, String reviewer) {
        SecureRandom random = new SecureRandom();
        byte[] key = ReviewLinks.key(null, fx.server().config().dataDir(), random);
        return new ReviewLinks(key, fx.clock, null, random).formToken(token(link), reviewer);
    }

    /** The approver a link names, or null (a link not sent to one person, or not a link). */
    private static String approver(String link) {
        try {
            String claims = token(link).substring(0, token(link).indexOf('.'));
            JsonNode n = Json.mapper().readTree(Base64.getUrlDecoder().decode(claims));
            return n.hasNonNull("who") ? n.get("who").asText() : null;
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    static HttpRequest.Builder form(String link, String body) {
        return HttpRequest.newBuilder(URI.create(link))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }
}
