package io.countersign.server.channels;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.Json;
import io.countersign.server.ServerFixture;
import io.countersign.server.config.Channels;
import io.countersign.server.config.ServerConfig;
import io.countersign.server.console.Browser;
import io.countersign.server.console.Browser.Page;
import io.countersign.server.console.MockIdp;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Adaptive Cards posted to a real HTTP stand-in for a Teams workflow, and their links through the real review page. */
class TeamsChannelTest {
    @TempDir
    Path dir;

    TeamsWorkflow workflow;
    ServerFixture fx;
    MockIdp idp;

    @BeforeEach
    void workflow() {
        workflow = new TeamsWorkflow();
    }

    @AfterEach
    void stop() {
        if (fx != null) fx.close();
        if (idp != null) idp.close();
        workflow.close();
    }

    void start() {
        start(Map.of(), c -> c);
    }

    void start(Map<String, ServerConfig.Links> links, UnaryOperator<ServerConfig> more) {
        Channels channels = Channels.none()
                .withTeams(new Channels.Teams(new Channels.Secret(workflow.url().toString())))
                .withDelivery(
                        new Channels.Delivery(4, Duration.ofSeconds(2), Duration.ofSeconds(8), Duration.ofSeconds(5)));
        fx = new ServerFixture(
                dir, Path.of("..", "examples", "policy.yaml"), links, c -> more.apply(c.withChannels(channels)));
    }

    @Test
    void postsOneCardWithTheRequestsContextWhenItNeedsApproval() throws Exception {
        start();
        JsonNode submitted = fx.submit("deploy-bot", ServerFixture.PII_EXPORT).json();
        String id = submitted.path("id").asText();
        awaitTrue(() -> workflow.messages.size() == 1);

        JsonNode message = workflow.messages.getFirst();
        assertThat(message.path("type").asText()).isEqualTo("message");
        JsonNode attachment = message.path("attachments").path(0);
        assertThat(attachment.path("contentType").asText()).isEqualTo("application/vnd.microsoft.card.adaptive");
        assertThat(attachment.has("contentUrl")).isTrue();
        assertThat(attachment.path("contentUrl").isNull()).isTrue();
        JsonNode card = workflow.card(0);
        assertThat(card.path("type").asText()).isEqualTo("AdaptiveCard");
        assertThat(card.path("version").asText()).isEqualTo("1.4");
        assertThat(card.path("body").path(0).path("text").asText()).isEqualTo("Approval needed: db.export");
        Instant expires = Instant.parse(submitted.path("expires_at").asText());
        assertThat(facts(card))
                .containsEntry("Agent", "deploy-bot (agent)")
                .containsEntry("Owner", "alice")
                .containsEntry("Model", "claude-sonnet-4-5")
                .containsEntry("Action", "db.export")
                .containsEntry("Resource", "table customers")
                .containsEntry("Environment", "prod")
                .containsEntry("Tags", "pii")
                .containsEntry("Rules matched", "pii-export-in-prod")
                .containsEntry("Requires", "2 of data-owners")
                .containsEntry("Approved so far", "nobody yet")
                .containsEntry("Digest", submitted.path("digest").asText().substring(0, 12))
                .containsEntry("Expires", expires.toString().substring(0, 16).replace('T', ' ') + " UTC")
                .containsEntry("Request", id);
        assertThat(justification(card)).isEqualTo("churn analysis");
        JsonNode action = card.path("actions").path(0);
        assertThat(action.path("type").asText()).isEqualTo("Action.OpenUrl");
        assertThat(action.path("title").asText()).isEqualTo("Review");
        assertThat(action.path("url").asText()).startsWith(fx.uri("/review/").toString());

        awaitTrue(() -> notified(id).size() == 1);
        assertThat(notified(id).getFirst().path("channel").asText()).isEqualTo("teams");
        assertThat(notified(id).getFirst().path("recipient").asText()).isEqualTo("default");
    }

    @Test
    void approvalsSoFarAndTheOnBehalfOfHumanAreOnTheCard() throws Exception {
        start();
        ObjectNode body = (ObjectNode) Json.mapper().readTree(ServerFixture.PROD_SHELL);
        body.put("on_behalf_of", "erin");
        fx.submitted(body.toString());
        awaitTrue(() -> workflow.messages.size() == 1);
        assertThat(facts(workflow.card(0)))
                .containsEntry("On behalf of", "erin")
                .containsEntry("Requires", "1 of security")
                .containsEntry("Rules matched", "prod-shell-needs-security");
    }

    @Test
    void sendsNothingForRequestsThatNeedNoApproval() throws Exception {
        start();
        fx.submitted(ServerFixture.READ_QUERY); // allowed
        fx.submit("deploy-bot", ServerFixture.PROD_SHELL.replace("uptime", "rm -rf /")); // denied
        String pending = fx.submitted(ServerFixture.PROD_SHELL);
        awaitTrue(() -> workflow.messages.size() == 1);
        Thread.sleep(300);
        assertThat(workflow.messages).hasSize(1);
        assertThat(facts(workflow.card(0))).containsEntry("Request", pending);
    }

    @Test
    void onlyRequestsWhoseRuleNotifiesTeamsGetACard() throws Exception {
        Path policy = dir.resolve("policy.yaml");
        java.nio.file.Files.writeString(policy, """
                version: 1
                default: { decision: require_approval, approvals: [{ group: security }], notify: [email] }
                rules:
                  - name: prod-shell-to-teams
                    match: action.type == "shell.exec" && resource.env == "prod"
                    decision: require_approval
                    approvals: [{ group: security }]
                    notify: [email, teams]
                """);
        Channels channels = Channels.none()
                .withTeams(new Channels.Teams(new Channels.Secret(workflow.url().toString())));
        fx = new ServerFixture(dir.resolve("data"), policy, Map.of(), c -> c.withChannels(channels));
        fx.submitted(ServerFixture.PII_EXPORT); // to email only
        String shell = fx.submitted(ServerFixture.PROD_SHELL);
        awaitTrue(() -> workflow.messages.size() == 1);
        Thread.sleep(300);
        assertThat(workflow.messages).hasSize(1);
        assertThat(facts(workflow.card(0))).containsEntry("Request", shell);
    }

    @Test
    void agentWrittenTextCannotForgeTheCardsLookOrLinks() throws Exception {
        start();
        ObjectNode body = (ObjectNode) Json.mapper().readTree(ServerFixture.PII_EXPORT);
        ((ObjectNode) body.path("resource")).put("id", "prod_db*[x](https://evil.example)");
        ((ObjectNode) body.path("resource")).putArray("tags").add("pii").add("**urgent**");
        body.put(
                "justification",
                "**APPROVED BY SECURITY** [click here](https://evil.example/approve)\n\n- done\u202egnp.exe"
                        + " {{DATE(2017-02-14T06:08:39Z, SHORT)}} <at>dave</at> www.evil.example " + "x".repeat(3000));
        fx.submitted(body.toString());
        awaitTrue(() -> workflow.messages.size() == 1);

        JsonNode card = workflow.card(0);
        assertThat(workflow.messages.getFirst().toString()).doesNotContain("https://evil", "\u202e", "{{", "www.evil");
        assertThat(card.findValuesAsText("url"))
                .singleElement()
                .satisfies(u -> assertThat(u).startsWith(fx.uri("/review/").toString()));
        assertThat(rawFacts(card))
                .containsEntry("Resource", "table prod\\_db\\*\\[x\\](https\\[:\\]//evil.example)")
                .containsEntry("Tags", "pii, \\*\\*urgent\\*\\*");
        String said = justification(card);
        assertThat(said)
                .startsWith("**APPROVED BY SECURITY** [click here](https[:]//evil.example/approve) - done")
                .contains("{ {DATE(", "www[.]evil.example")
                .doesNotContain("\n")
                .endsWith("\u2026");
        assertThat(said.codePointCount(0, said.length())).isEqualTo(TeamsCard.JUSTIFICATION_MAX);
        assertThat(card.path("body").findValues("type").stream().map(JsonNode::asText))
                .as("the justification is a TextRun, which Teams does not read as markdown")
                .contains("RichTextBlock", "TextRun");
    }

    @Test
    void theCardsLinkAsksWhoeverOpensItToSignInThenRecordsTheirReviewAsFromTeams() throws Exception {
        start();
        String id = fx.submitted(ServerFixture.PROD_SHELL);
        String link = awaitLink();
        Browser browser = new Browser();

        Page anonymous = browser.get(link);
        assertThat(anonymous.status()).isEqualTo(403);
        assertThat(anonymous.body())
                .contains("Sign in to review")
                .contains("shell.exec")
                .as("the parameters wait for sign-in")
                .doesNotContain("uptime");
        Page form = browser.get(anonymous.link("/console/login"));
        assertThat(form.status()).isEqualTo(200);
        Page signedIn = browser.submit(form, Map.of("api_key", fx.key("dave")));
        assertThat(signedIn.location()).isEqualTo(link);
        assertThat(browser.get(link).body()).contains("uptime");

        approve(browser, link, "uptime is harmless", "Review recorded");
        assertThat(fx.get("alice", "/v1/requests/" + id).json().path("state").asText())
                .isEqualTo("approved");
        JsonNode review = event(id, "review.recorded");
        assertThat(review.path("actor").asText()).isEqualTo("dave");
        assertThat(review.path("channel").asText()).isEqualTo("teams");
    }

    @Test
    void aPersonSignedInThroughTheIdentityProviderReviewsFromTheCard() throws Exception {
        idp = new MockIdp(() -> fx == null ? ServerFixture.START : fx.clock.instant());
        start(Map.of("dave", idp.link("dave-sub")), c -> c.withOidc(idp.oidc(null, Duration.ofHours(1))));
        String id = fx.submitted(ServerFixture.PROD_SHELL);
        String link = awaitLink();
        Browser browser = new Browser();
        idp.nextSignIn("dave-sub", Map.of());

        Page toIdp = browser.get(browser.get(link).link("/console/login"));
        assertThat(toIdp.location()).startsWith(idp.issuer);
        Page back = browser.follow(browser.follow(toIdp));
        assertThat(back.location()).as(back.toString()).isEqualTo(link);

        approve(browser, link, "ok", "Review recorded");
        JsonNode review = event(id, "review.recorded");
        assertThat(review.path("actor").asText()).isEqualTo("dave");
        assertThat(review.path("channel").asText()).isEqualTo("teams");
    }

    @Test
    void theAgentsOwnerSigningInFromTheCardIsRefusedAndTheRefusalIsRecorded() throws Exception {
        start();
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        String link = awaitLink();
        Browser browser = new Browser();
        browser.submit(browser.get(fx.uri("/console/login").toString()), Map.of("api_key", fx.key("alice")));

        Page shown = browser.get(link);
        assertThat(shown.status()).isEqualTo(403);
        assertThat(shown.body()).doesNotContain("&quot;table&quot;");
        // a form that reaches the service all the same (say, one opened before alice came to own the agent)
        Page posted = browser.post(
                link,
                Map.of("verdict", "approve", "reason", "mine", "csrf", ReviewPageTest.formToken(fx, link, "alice")));
        assertThat(posted.status()).isEqualTo(403);
        JsonNode refused = event(id, "review.refused");
        assertThat(refused.path("actor").asText()).isEqualTo("alice");
        assertThat(refused.path("channel").asText()).isEqualTo("teams");
        assertThat(refused.path("refusal").asText()).isEqualTo("owner-review");
        assertThat(fx.get("bob", "/v1/requests/" + id).json().path("state").asText())
                .isEqualTo("pending");
    }

    @Test
    void aSessionReviewsWithThePersonsGroupsAsKnownNowNotAsAtSignIn() throws Exception {
        idp = new MockIdp(() -> fx == null ? ServerFixture.START : fx.clock.instant());
        start(Map.of("erin", idp.link("erin-sub")), c -> c.withOidc(idp.oidc(null, Duration.ofHours(1))));
        String id = fx.submitted(ServerFixture.PROD_SHELL); // needs someone from security
        String link = awaitLink();
        Browser browser = new Browser();
        idp.nextSignIn("erin-sub", Map.of("groups", List.of("security")));
        Page back = browser.follow(browser.follow(browser.get(browser.get(link).link("/console/login"))));
        assertThat(back.location()).as(back.toString()).isEqualTo(link);
        assertThat(browser.get(link).body()).contains("You are reviewing as <strong>erin</strong>");

        String later = idp.bearer("erin-sub", Map.of("groups", List.of())); // erin has left security since
        assertThat(fx.send(java.net.http.HttpRequest.newBuilder(fx.uri("/v1/requests"))
                                .header("Authorization", "Bearer " + later))
                        .status())
                .isEqualTo(200);

        Page now = browser.get(link);
        assertThat(now.status()).as(now.toString()).isEqualTo(403);
        assertThat(now.body()).contains("erin is in none of the groups").doesNotContain("<form");
        assertThat(fx.get("alice", "/v1/requests/" + id).json().path("state").asText())
                .isEqualTo("pending");
    }

    @Test
    void retriesWhenTheWorkflowAnswers503() throws Exception {
        workflow.failNext(1, 503, null);
        start();
        String id = fx.submitted(ServerFixture.PROD_SHELL);
        Duration wait = retryScheduled(id);
        assertThat(wait).isEqualTo(Duration.ofSeconds(2));
        assertThat(delivery(id).path("last_error").asText()).isEqualTo("the Teams workflow answered 503");
        fx.clock.advance(wait);
        awaitTrue(() -> "delivered".equals(delivery(id).path("state").asText()));
        assertThat(delivery(id).path("attempts").asInt()).isEqualTo(2);
        assertThat(workflow.messages).hasSize(1);
    }

    @Test
    void waitsAsLongAsA429sRetryAfterAsks() throws Exception {
        workflow.failNext(1, 429, "30");
        start();
        String id = fx.submitted(ServerFixture.PROD_SHELL);
        assertThat(retryScheduled(id)).isEqualTo(Duration.ofSeconds(30));
        assertThat(delivery(id).path("last_error").asText()).isEqualTo("the Teams workflow answered 429");
        fx.clock.advance(Duration.ofSeconds(29));
        Thread.sleep(500);
        assertThat(workflow.attempts.get()).isEqualTo(1);
        fx.clock.advance(Duration.ofSeconds(1));
        awaitTrue(() -> workflow.messages.size() == 1);
    }

    @Test
    void givesUpOnAnotherClientErrorAndNeverShowsTheWebhookUrl() throws Exception {
        workflow.failNext(1, 400, null);
        start();
        String id = fx.submitted(ServerFixture.PROD_SHELL);
        awaitTrue(() -> "dead".equals(delivery(id).path("state").asText()));
        assertThat(delivery(id).path("attempts").asInt()).isEqualTo(1);
        assertThat(delivery(id).path("last_error").asText()).isEqualTo("the Teams workflow answered 400");
        String all = fx.get("alice", "/v1/deliveries").body()
                + fx.get("alice", "/v1/requests/" + id + "/events").body()
                + fx.send(java.net.http.HttpRequest.newBuilder(fx.uri("/metrics")))
                        .body();
        assertThat(all).doesNotContain(TeamsWorkflow.SIGNATURE, TeamsWorkflow.PATH);
        assertThat(fx.server().config().toString()).doesNotContain(TeamsWorkflow.SIGNATURE);
    }

    @Test
    void aRequestSettledBeforeItsCardGoesOutIsNotPosted() throws Exception {
        workflow.failNext(1, 503, null);
        start();
        String id = fx.submitted(ServerFixture.PROD_SHELL);
        Duration wait = retryScheduled(id);
        assertThat(fx.review("dave", id, "approve", "ok").status()).isEqualTo(200);
        fx.clock.advance(wait);
        awaitTrue(() -> "delivered".equals(delivery(id).path("state").asText()));
        assertThat(workflow.messages).isEmpty();
        assertThat(notified(id)).isEmpty();
    }

    private void approve(Browser browser, String link, String reason, String outcome) {
        Page page = browser.get(link);
        assertThat(page.status()).as(page.toString()).isEqualTo(200);
        assertThat(page.body()).contains("You are reviewing as");
        Page done = browser.submit(page, Map.of("verdict", "approve", "reason", reason));
        assertThat(done.status()).as(done.toString()).isEqualTo(200);
        assertThat(done.body()).contains(outcome);
    }

    private String awaitLink() throws InterruptedException {
        awaitTrue(() -> !workflow.messages.isEmpty());
        return workflow.card(0).path("actions").path(0).path("url").asText();
    }

    /** The facts as Teams shows them: markdown escapes removed. */
    private static Map<String, String> facts(JsonNode card) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        rawFacts(card).forEach((k, v) -> out.put(k, v.replaceAll("\\\\(\\p{Punct})", "$1")));
        return out;
    }

    /** The facts as sent: markdown. */
    private static Map<String, String> rawFacts(JsonNode card) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (JsonNode block : card.path("body"))
            for (JsonNode f : block.path("facts"))
                out.put(f.path("title").asText(), f.path("value").asText());
        return out;
    }

    private static String justification(JsonNode card) {
        for (JsonNode block : card.path("body"))
            if (block.path("type").asText().equals("RichTextBlock"))
                return block.path("inlines").path(0).path("text").asText();
        throw new AssertionError("no justification on " + card);
    }

    private JsonNode event(String id, String type) {
        JsonNode events =
                fx.get("alice", "/v1/requests/" + id + "/events").json().path("events");
        for (JsonNode e : events) if (e.path("type").asText().equals(type)) return e;
        throw new AssertionError("no " + type + " in " + events);
    }

    private List<JsonNode> notified(String id) {
        List<JsonNode> out = new ArrayList<>();
        fx.get("alice", "/v1/requests/" + id + "/events").json().path("events").forEach(e -> {
            if (e.path("type").asText().equals("request.notified")) out.add(e);
        });
        return out;
    }

    private JsonNode delivery(String id) {
        return fx.get("alice", "/v1/requests/" + id + "/deliveries")
                .json()
                .path("deliveries")
                .path(0);
    }

    /** Waits until the first attempt failed; how long until the next. */
    private Duration retryScheduled(String id) throws InterruptedException {
        awaitTrue(() -> delivery(id).path("attempts").asInt() == 1
                && delivery(id).has("last_error")
                && "pending".equals(delivery(id).path("state").asText()));
        return Duration.between(
                fx.clock.instant(),
                Instant.parse(delivery(id).path("next_attempt_at").asText()));
    }

    static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not met within 20 s");
            Thread.sleep(20);
        }
    }
}
