package io.countersign.server.channels;

import static io.countersign.server.channels.WebhookChannelTest.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.Json;
import io.countersign.server.ServerFixture;
import io.countersign.server.ServerFixture.Reply;
import io.countersign.server.config.Channels;
import io.countersign.server.config.ServerConfig;
import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.StreamSupport;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Slack channel end to end: a real server, a real HTTP peer standing in for Slack's Web API, and
 * interaction payloads signed here as Slack signs them and POSTed form-encoded to the real endpoint.
 */
class SlackChannelTest {
    static final String TOKEN = "xoxb-1111-2222-not-a-real-bot-token";
    static final String SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
    static final String CHANNEL = "C0APPROVALS";
    static final String PATH = "/v1/channels/slack/interactions";
    static final Map<String, ServerConfig.Links> LINKS = Map.of(
            "alice", slack("U0ALICE"),
            "bob", slack("U0BOB"),
            "carol", slack("U0CAROL"),
            "dave", slack("U0DAVE"));

    @TempDir
    Path dir;

    SlackFake slack;
    ServerFixture fx;
    final AtomicInteger triggers = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        slack = new SlackFake();
        Channels channels = Channels.none()
                .withSlack(new Channels.Slack(
                        new Channels.Secret(TOKEN), new Channels.Secret(SIGNING_SECRET), CHANNEL, slack.api()))
                .withDelivery(
                        new Channels.Delivery(20, Duration.ofSeconds(2), Duration.ofSeconds(8), Duration.ofSeconds(5)));
        fx = new ServerFixture(dir, Path.of("..", "examples", "policy.yaml"), LINKS, c -> c.withChannels(channels));
    }

    @AfterEach
    void stop() {
        fx.close();
        slack.close();
    }

    @Test
    void postsTheApprovalMessageWithTheWholeRequestAndApproveAndDenyButtons() throws Exception {
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        JsonNode post = posted(id);
        JsonNode request = fx.get("alice", "/v1/requests/" + id).json();
        String digest = request.path("digest").asText();

        assertThat(post.path("channel").asText()).isEqualTo(CHANNEL);
        assertThat(slack.calls("chat.postMessage", id).getFirst().authorization())
                .isEqualTo("Bearer " + TOKEN);
        assertThat(texts(post))
                .contains(
                        "Approval requested: db.export",
                        "Agent: deploy-bot",
                        "Owner: alice",
                        "On behalf of: —",
                        "Model: " + request.path("requester").path("model").asText(),
                        "Action: db.export",
                        "Resource: table customers",
                        "Env: prod",
                        "Tags: pii",
                        "Justification: churn analysis",
                        "*Rules matched*\npii-export-in-prod",
                        "*Needs*\n2 of data-owners, each with a reason",
                        "*Approved so far*\nno one yet",
                        "*Digest*\n`" + digest.substring(0, 12) + "`",
                        "*Expires*\n<!date^"
                                + ServerFixture.START.plusSeconds(1800).getEpochSecond()
                                + "^{date_short_pretty} {time}|2025-03-03 09:30 UTC>",
                        "Countersign request " + id);
        JsonNode buttons = actions(post);
        assertThat(buttons.path(0).path("action_id").asText()).isEqualTo("approve");
        assertThat(buttons.path(1).path("action_id").asText()).isEqualTo("deny");
        assertThat(buttons.path(0).path("value").asText()).isEqualTo(id + " " + digest);
        awaitTrue(
                () -> events(id).stream().anyMatch(e -> e.path("type").asText().equals("request.notified")));
        JsonNode notified = events(id).stream()
                .filter(e -> e.path("type").asText().equals("request.notified"))
                .findFirst()
                .orElseThrow();
        assertThat(notified.path("channel").asText()).isEqualTo("slack");
        assertThat(notified.path("recipient").asText()).isEqualTo(CHANNEL);
    }

    @Test
    void twoDataOwnersApproveThroughSlackAndTheMessageTheOwnerAndTheLedgerFollow() throws Exception {
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        JsonNode post = posted(id);
        String ts = slackTs(id);

        assertThat(interact(click("U0BOB", "approve", post)).status()).isEqualTo(200);
        JsonNode modal = modalFor(id, 1);
        assertThat(Json.mapper()
                        .readTree(modal.path("private_metadata").asText())
                        .path("verdict")
                        .asText())
                .isEqualTo("approve");
        Reply submitted = interact(submission("U0BOB", modal, "needed for the churn model"));
        assertThat(submitted.status()).isEqualTo(200);
        assertThat(submitted.body()).isEmpty(); // the modal closes
        awaitTrue(() -> updates(id).stream().anyMatch(u -> texts(u).contains("*Approved so far*\nbob")));

        interact(click("U0CAROL", "approve", post));
        interact(submission("U0CAROL", modalFor(id, 2), "agreed"));
        awaitTrue(() -> "approved".equals(fx.get("alice", "/v1/requests/" + id).state()));

        List<JsonNode> reviews = events(id).stream()
                .filter(e -> e.path("type").asText().equals("review.recorded"))
                .toList();
        assertThat(reviews).extracting(e -> e.path("actor").asText()).containsExactly("bob", "carol");
        assertThat(reviews).allMatch(e -> e.path("channel").asText().equals("slack"));
        assertThat(reviews.getFirst().path("reason").asText()).isEqualTo("needed for the churn model");
        awaitTrue(() -> updates(id).stream().anyMatch(u -> texts(u).contains("Approved by bob, carol.")));
        JsonNode last = finalUpdate(id, "Approved by bob, carol.");
        assertThat(last.path("ts").asText()).isEqualTo(ts);
        assertThat(actions(last).isMissingNode()).as("no buttons once decided").isTrue();
        JsonNode dm = ownerDm(id);
        assertThat(texts(dm))
                .anyMatch(t -> t.contains("Your agent deploy-bot") && t.contains("Approved by bob, carol."));
    }

    @Test
    void anApproveThatNeedsNoReasonIsRecordedStraightFromTheButton() throws Exception {
        String id = fx.submitted(ServerFixture.PROD_SHELL);
        interact(click("U0DAVE", "approve", posted(id)));
        awaitTrue(() -> "approved".equals(fx.get("dave", "/v1/requests/" + id).state()));
        JsonNode review = only(id, "review.recorded");
        assertThat(review.path("actor").asText()).isEqualTo("dave");
        assertThat(review.path("channel").asText()).isEqualTo("slack");
        assertThat(slack.calls("views.open")).isEmpty();
    }

    @Test
    void denyOpensAModalAndItsSubmissionRecordsTheDenyWithItsReason() throws Exception {
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        interact(click("U0BOB", "deny", posted(id)));
        JsonNode modal = modalFor(id, 1);
        assertThat(modal.path("submit").path("text").asText()).isEqualTo("Deny");
        assertThat(fx.get("bob", "/v1/requests/" + id).state()).isEqualTo("pending"); // nothing until submitted

        interact(submission("U0BOB", modal, "too broad: export only the churned segment"));
        assertThat(fx.get("bob", "/v1/requests/" + id).state()).isEqualTo("denied");
        JsonNode review = only(id, "review.recorded");
        assertThat(review.path("verdict").asText()).isEqualTo("deny");
        assertThat(review.path("channel").asText()).isEqualTo("slack");
        assertThat(review.path("reason").asText()).isEqualTo("too broad: export only the churned segment");
        finalUpdate(id, "Denied by bob: too broad: export only the churned segment");
        assertThat(texts(ownerDm(id))).anyMatch(t -> t.contains("Denied by bob"));
    }

    @Test
    void refusesForgedMissingAndStaleSignaturesWith401AndRecordsNothing() throws Exception {
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        String body = form(click("U0BOB", "deny", posted(id)));
        long now = fx.clock.instant().getEpochSecond();

        Reply forged = post(body, now, sign(body, now, "not-the-signing-secret"));
        Reply missing = fx.send(HttpRequest.newBuilder(fx.uri(PATH))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
        Reply stale = post(body, now - 301, sign(body, now - 301, SIGNING_SECRET));
        Reply ahead = post(body, now + 301, sign(body, now + 301, SIGNING_SECRET));
        Reply tampered = post(body.replace("U0BOB", "U0CAROL"), now, sign(body, now, SIGNING_SECRET));

        assertThat(List.of(forged, missing, stale, ahead, tampered)).allMatch(r -> r.status() == 401);
        assertThat(forged.problem()).isEqualTo("slack-signature-invalid");
        assertThat(missing.problem()).isEqualTo("slack-signature-missing");
        assertThat(stale.problem()).isEqualTo("slack-signature-stale");
        assertThat(ahead.problem()).isEqualTo("slack-signature-stale");
        assertThat(tampered.problem()).isEqualTo("slack-signature-invalid");
        assertThat(events(id)).noneMatch(e -> e.path("type").asText().startsWith("review."));
        assertThat(slack.calls("views.open")).isEmpty();
        assertThat(slack.responses).isEmpty();

        // the same interaction, genuinely signed 299 s ago, is taken: forgeries burned nothing
        assertThat(post(body, now - 299, sign(body, now - 299, SIGNING_SECRET)).status())
                .isEqualTo(200);
        modalFor(id, 1);
    }

    @Test
    void aReplayedInteractionIsAcknowledgedAndRecordsNoSecondReview() throws Exception {
        String id = fx.submitted(ServerFixture.PROD_SHELL);
        String body = form(click("U0DAVE", "approve", posted(id)));
        long now = fx.clock.instant().getEpochSecond();
        String signature = sign(body, now, SIGNING_SECRET);
        assertThat(post(body, now, signature).status()).isEqualTo(200);
        awaitTrue(() -> "approved".equals(fx.get("dave", "/v1/requests/" + id).state()));

        assertThat(post(body, now, signature).status()).isEqualTo(200); // the same bytes again
        fx.clock.advance(Duration.ofSeconds(30));
        long later = fx.clock.instant().getEpochSecond();
        assertThat(post(body, later, sign(body, later, SIGNING_SECRET)).status())
                .isEqualTo(200); // redelivered, freshly signed
        Thread.sleep(300);

        assertThat(events(id).stream().filter(e -> e.path("type").asText().startsWith("review.")))
                .extracting(e -> e.path("type").asText())
                .containsExactly("review.recorded");
        assertThat(slack.responses).isEmpty();
    }

    @Test
    void aTriggerIdIsTakenOnceWhateverKindOfInteractionCarriesIt() throws Exception {
        String denied = fx.submitted(ServerFixture.PII_EXPORT);
        interact(click("U0BOB", "deny", posted(denied)));
        ObjectNode submitted = submission("U0BOB", modalFor(denied, 1), "no");
        interact(submitted);
        assertThat(fx.get("bob", "/v1/requests/" + denied).state()).isEqualTo("denied");

        // A click on another request that carries the form's trigger_id again is a replay.
        String other = fx.submitted(ServerFixture.PROD_SHELL);
        ObjectNode replay = click("U0DAVE", "approve", posted(other));
        replay.put("trigger_id", submitted.path("trigger_id").asText());
        assertThat(interact(replay).status()).isEqualTo(200);
        Thread.sleep(300);
        assertThat(events(other).stream().filter(e -> e.path("type").asText().startsWith("review.")))
                .isEmpty();
        assertThat(fx.get("dave", "/v1/requests/" + other).state()).isEqualTo("pending");
    }

    @Test
    void theRequestersOwnerIsRefusedInSlackAsOnTheApiAndTheRefusalIsInTheLedger() throws Exception {
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        interact(click("U0ALICE", "approve", posted(id)));
        awaitTrue(() -> !slack.responses.isEmpty());

        JsonNode refused = only(id, "review.refused");
        assertThat(refused.path("actor").asText()).isEqualTo("alice");
        assertThat(refused.path("channel").asText()).isEqualTo("slack");
        assertThat(refused.path("refusal").asText()).isEqualTo("owner-review");
        JsonNode told = slack.responses.getFirst();
        assertThat(told.path("response_type").asText()).isEqualTo("ephemeral");
        assertThat(told.path("text").asText()).contains("not recorded", "alice owns the requesting agent deploy-bot");
        assertThat(slack.calls("views.open"))
                .as("no reason is asked of someone who cannot review")
                .isEmpty();
        assertThat(fx.review("alice", id, "approve", "mine").problem()).isEqualTo("owner-review");
        assertThat(fx.get("bob", "/v1/requests/" + id).state()).isEqualTo("pending");
    }

    @Test
    void aSlackUserLinkedToNoOneCannotReview() throws Exception {
        String id = fx.submitted(ServerFixture.PROD_SHELL);
        JsonNode post = posted(id);
        interact(click("U0STRANGER", "approve", post));
        awaitTrue(() -> !slack.responses.isEmpty());
        assertThat(slack.responses.getFirst().path("text").asText())
                .contains("U0STRANGER is linked to no Countersign identity");

        // nor through a reason form somebody else opened
        interact(click("U0DAVE", "deny", post));
        Reply submitted = interact(submission("U0STRANGER", modalFor(id, 1), "no"));
        assertThat(submitted.json().path("response_action").asText()).isEqualTo("errors");
        assertThat(submitted.json().path("errors").path("reason").asText())
                .contains("linked to no Countersign identity");

        assertThat(events(id)).noneMatch(e -> e.path("type").asText().startsWith("review."));
        assertThat(fx.get("dave", "/v1/requests/" + id).state()).isEqualTo("pending");
    }

    @Test
    void aReviewThatNoLongerCountsIsExplainedInTheModalAndRecorded() throws Exception {
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        interact(click("U0BOB", "deny", posted(id)));
        JsonNode modal = modalFor(id, 1);
        assertThat(fx.post("deploy-bot", "/v1/requests/" + id + "/cancel", "").status())
                .isEqualTo(200);

        Reply submitted = interact(submission("U0BOB", modal, "too late"));
        assertThat(submitted.json().path("errors").path("reason").asText()).contains("the request is cancelled");
        assertThat(only(id, "review.refused").path("channel").asText()).isEqualTo("slack");
        finalUpdate(id, "Cancelled by deploy-bot.");
    }

    @Test
    void anApprovalThroughTheApiUpdatesTheSlackMessageAndTellsTheOwner() throws Exception {
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        posted(id);
        String ts = slackTs(id);

        assertThat(fx.review("bob", id, "approve", "ok").status()).isEqualTo(200);
        assertThat(fx.review("carol", id, "approve", "ok").status()).isEqualTo(200);

        JsonNode update = finalUpdate(id, "Approved by bob, carol.");
        assertThat(update.path("channel").asText()).isEqualTo(CHANNEL);
        assertThat(update.path("ts").asText()).isEqualTo(ts);
        assertThat(texts(update)).contains("Approved: db.export");
        JsonNode dm = ownerDm(id);
        assertThat(dm.path("channel").asText()).isEqualTo("U0ALICE");
        assertThat(slack.calls("chat.postMessage", id)).hasSize(2); // the approval message and the DM
    }

    @Test
    void anExpiredRequestsMessageSaysSoAndItsOwnerIsTold() throws Exception {
        String id = fx.submitted(ServerFixture.PROD_SHELL);
        posted(id);
        fx.clock.advance(Duration.ofMinutes(16)); // past the rule's pending_ttl of 15m
        JsonNode update = finalUpdate(id, "Expired: no decision was made by 2025-03-03 09:15 UTC.");
        assertThat(actions(update).isMissingNode()).isTrue();
        assertThat(texts(ownerDm(id))).anyMatch(t -> t.contains("Expired"));
    }

    @Test
    void aSlackOutageDuringABurstLosesNoMessageAndDelaysNothingElse() throws Exception {
        slack.down(true);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++)
            ids.add(fx.submitted(ServerFixture.PII_EXPORT.replace("churn analysis", "churn analysis " + i)));
        awaitTrue(() -> ids.stream().allMatch(id -> deliveries(id).stream().anyMatch(d -> d.has("last_error"))));
        assertThat(deliveries(ids.getFirst()).getFirst().path("last_error").asText())
                .isEqualTo("slack chat.postMessage answered 503");
        fx.clock.advance(Duration.ofSeconds(10));
        awaitTrue(() -> deliveries(ids.getFirst()).getFirst().path("attempts").asInt() >= 2);

        // Slack being down holds up nothing: reviews go through the API as ever
        long t0 = System.nanoTime();
        assertThat(fx.review("bob", ids.getFirst(), "approve", "fine").status()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));

        slack.down(false);
        for (int i = 0; i < 30 && !allPosted(ids); i++) {
            fx.clock.advance(Duration.ofSeconds(10));
            Thread.sleep(300);
        }
        awaitTrue(() -> allPosted(ids));
        for (String id : ids)
            assertThat(slack.calls("chat.postMessage", id)).as(id).hasSize(1);
        // posted late, the message shows the request as it is now
        assertThat(texts(posted(ids.getFirst()))).contains("*Approved so far*\nbob");

        String metrics = fx.send(HttpRequest.newBuilder(fx.uri("/metrics"))).body();
        assertThat(metrics)
                .containsPattern(
                        "countersign_delivery_failures_total\\{channel=\"slack\",gave_up=\"false\",kind=\"post\"} [1-9]");
        String everything = fx.get("alice", "/v1/deliveries?limit=1000").body()
                + fx.get("alice", "/v1/ledger/entries").body();
        assertThat(everything).doesNotContain(TOKEN, SIGNING_SECRET, slack.api().toString());
    }

    @Test
    void aRateLimitedPostWaitsForSlacksRetryAfter() throws Exception {
        slack.rateLimit(1, 30);
        String id = fx.submitted(ServerFixture.PROD_SHELL);
        awaitTrue(() -> deliveries(id).stream().anyMatch(d -> d.has("last_error")));
        JsonNode d = deliveries(id).getFirst();
        assertThat(d.path("last_error").asText()).isEqualTo("slack chat.postMessage answered 429 (rate limited)");
        assertThat(java.time.Instant.parse(d.path("next_attempt_at").asText()))
                .isEqualTo(fx.clock.instant().plusSeconds(30));
        fx.clock.advance(Duration.ofSeconds(30));
        posted(id);
    }

    @Test
    void whatTheAgentWroteCannotForgeHowTheMessageLooks() throws Exception {
        ObjectNode body = (ObjectNode) Json.mapper().readTree(ServerFixture.PII_EXPORT);
        String forged = "<!channel> *Approved* by <@U0CAROL>\n\n:white_check_mark: Approved by bob, carol.\u202E "
                + "<https://evil.example|Approve here> " + "x".repeat(3000);
        body.put("justification", forged);
        ((ObjectNode) body.path("resource")).put("id", "customers <@U0CAROL>\n*Rules matched*\nnone");
        ((ObjectNode) body.path("resource")).putArray("tags").add("pii").add("<!here>");
        String id = fx.submitted(body.toString());
        JsonNode post = posted(id);

        List<JsonNode> objects = textObjects(post);
        for (JsonNode o : objects) {
            String text = o.path("text").asText();
            if (o.path("type").asText().equals("plain_text")) {
                assertThat(o.path("emoji").asBoolean(true))
                        .as("emoji codes off: %s", text)
                        .isFalse();
            } else {
                assertThat(text)
                        .as("mrkdwn holds only the server's own text")
                        .doesNotContain("<!channel>", "<@", "evil", "<!here>");
            }
        }
        String justification = texts(post).stream()
                .filter(t -> t.startsWith("Justification: "))
                .findFirst()
                .orElseThrow();
        assertThat(justification)
                .doesNotContain("\n", "\u202E")
                .hasSizeLessThanOrEqualTo(1016)
                .endsWith("…");
        assertThat(texts(post))
                .contains("Resource: table customers <@U0CAROL> *Rules matched* none", "Tags: pii, <!here>");
        assertThat(post.path("text").asText()).doesNotContain("<").contains("&lt;");
        assertThat(post.path("blocks"))
                .filteredOn(b -> b.path("type").asText().equals("actions"))
                .hasSize(1);
    }

    @Test
    void whatTheAgentWroteIsNeverBoldItalicStruckOrCodeInAnyMessage() throws Exception {
        ObjectNode body = (ObjectNode) Json.mapper().readTree(ServerFixture.PII_EXPORT);
        String marked = "customers *verified* _safe_ ~prod~ `ok` ```run```";
        ((ObjectNode) body.path("resource")).put("id", marked);
        String id = fx.submitted(body.toString());
        JsonNode post = posted(id);
        assertThat(fx.review("bob", id, "approve", "ok").status()).isEqualTo(200);
        assertThat(fx.review("carol", id, "approve", "ok").status()).isEqualTo(200);
        JsonNode update = finalUpdate(id, "Approved by bob, carol.");
        JsonNode dm = ownerDm(id);

        for (JsonNode message : List.of(post, update, dm)) {
            assertThat(message.path("text").asText())
                    .as("the fallback text shows it as typed")
                    .contains(marked);
            assertThat(formatted(message))
                    .as("what Slack renders as mrkdwn in the message to %s", message.path("channel"))
                    .noneMatch(t -> t.contains("*verified*")
                            || t.contains("_safe_")
                            || t.contains("~prod~")
                            || t.contains("`ok`"));
        }
    }

    /** What Slack renders as mrkdwn: the top-level text (unless "mrkdwn": false) and mrkdwn text objects. */
    static List<String> formatted(JsonNode message) {
        List<String> out = new ArrayList<>();
        if (message.path("mrkdwn").asBoolean(true)) out.add(message.path("text").asText());
        textObjects(message).stream()
                .filter(o -> o.path("type").asText().equals("mrkdwn"))
                .forEach(o -> out.add(o.path("text").asText()));
        return out;
    }

    // ---- interactions, as Slack sends them -------------------------------------------------------

    /** A click on one of the message's buttons by Slack user {@code user}. */
    ObjectNode click(String user, String actionId, JsonNode message) {
        JsonNode button = StreamSupport.stream(actions(message).spliterator(), false)
                .filter(b -> b.path("action_id").asText().equals(actionId))
                .findFirst()
                .orElseThrow();
        int n = triggers.incrementAndGet();
        ObjectNode p = Json.mapper().createObjectNode().put("type", "block_actions");
        p.putObject("user").put("id", user).put("username", user.toLowerCase());
        p.putObject("team").put("id", "T0TEAM");
        p.put("trigger_id", n + ".1741000000.trigger" + n);
        p.put("response_url", slack.responseUrl("T0TEAM/" + n).toString());
        p.putObject("container").put("type", "message").put("channel_id", CHANNEL);
        p.putArray("actions")
                .addObject()
                .put("type", "button")
                .put("block_id", "countersign_review")
                .put("action_id", actionId)
                .put("value", button.path("value").asText())
                .put("action_ts", "1741000000." + n);
        return p;
    }

    /** The submission of {@code modal} (as opened through views.open) by {@code user} with {@code reason}. */
    ObjectNode submission(String user, JsonNode modal, String reason) {
        int n = triggers.incrementAndGet();
        ObjectNode p = Json.mapper().createObjectNode().put("type", "view_submission");
        p.putObject("user").put("id", user);
        p.putObject("team").put("id", "T0TEAM");
        p.put("trigger_id", n + ".1741000000.submit" + n);
        ObjectNode view = p.putObject("view")
                .put("id", "V" + n)
                .put("type", "modal")
                .put("callback_id", modal.path("callback_id").asText())
                .put("private_metadata", modal.path("private_metadata").asText());
        view.putObject("state")
                .putObject("values")
                .putObject("reason")
                .putObject("reason")
                .put("type", "plain_text_input")
                .put("value", reason);
        return p;
    }

    Reply interact(ObjectNode payload) {
        String body = form(payload);
        long now = fx.clock.instant().getEpochSecond();
        return post(body, now, sign(body, now, SIGNING_SECRET));
    }

    static String form(ObjectNode payload) {
        return "payload=" + URLEncoder.encode(payload.toString(), StandardCharsets.UTF_8);
    }

    Reply post(String body, long timestamp, String signature) {
        return fx.send(HttpRequest.newBuilder(fx.uri(PATH))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("X-Slack-Request-Timestamp", Long.toString(timestamp))
                .header("X-Slack-Signature", signature)
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    /** As Slack signs: v0= hex HMAC-SHA256 of "v0:{timestamp}:{body}" with the signing secret. */
    static String sign(String body, long timestamp, String secret) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return "v0="
                    + HexFormat.of()
                            .formatHex(mac.doFinal(("v0:" + timestamp + ":" + body).getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new AssertionError(e);
        }
    }

    // ---- what Slack was sent ---------------------------------------------------------------------

    /** The approval message posted for {@code id} (waits for it, and for its delivery to be recorded). */
    JsonNode posted(String id) throws InterruptedException {
        awaitTrue(() -> approvalPosts(id).size() == 1);
        awaitTrue(() -> deliveries(id).stream()
                .anyMatch(d -> d.path("kind").asText().equals("post")
                        && d.path("state").asText().equals("delivered")));
        return approvalPosts(id).getFirst().body();
    }

    private List<SlackFake.Call> approvalPosts(String id) {
        return slack.calls("chat.postMessage", id).stream()
                .filter(c -> c.body().path("channel").asText().startsWith("C"))
                .toList();
    }

    boolean allPosted(List<String> ids) {
        return ids.stream().allMatch(id -> !approvalPosts(id).isEmpty());
    }

    /** The ts Slack gave the approval message. */
    String slackTs(String id) throws InterruptedException {
        posted(id);
        return approvalPosts(id).getFirst().answer().path("ts").asText();
    }

    List<JsonNode> updates(String id) {
        return slack.calls("chat.update", id).stream().map(SlackFake.Call::body).toList();
    }

    /** The last update of the message, once it shows {@code outcome}. */
    JsonNode finalUpdate(String id, String outcome) throws InterruptedException {
        awaitTrue(() -> updates(id).stream().anyMatch(u -> texts(u).contains(outcome)));
        return updates(id).stream()
                .filter(u -> texts(u).contains(outcome))
                .toList()
                .getLast();
    }

    JsonNode ownerDm(String id) throws InterruptedException {
        awaitTrue(() -> slack.calls("chat.postMessage", id).stream()
                .anyMatch(c -> c.body().path("channel").asText().equals("U0ALICE")));
        return slack.calls("chat.postMessage", id).stream()
                .filter(c -> c.body().path("channel").asText().equals("U0ALICE"))
                .findFirst()
                .orElseThrow()
                .body();
    }

    /** The {@code n}th modal opened (waits for it), checked to be about {@code id}. */
    JsonNode modalFor(String id, int n) throws InterruptedException {
        awaitTrue(() -> slack.calls("views.open").size() >= n);
        JsonNode call = slack.calls("views.open").get(n - 1).body();
        assertThat(call.path("trigger_id").asText()).isNotEmpty();
        JsonNode view = call.path("view");
        assertThat(view.path("private_metadata").asText()).contains(id);
        return view;
    }

    static JsonNode actions(JsonNode message) {
        for (JsonNode b : message.path("blocks"))
            if (b.path("type").asText().equals("actions")) return b.path("elements");
        return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    }

    /** Every text object in the message's blocks. */
    static List<JsonNode> textObjects(JsonNode message) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode b : message.path("blocks")) {
            if (b.has("text")) out.add(b.path("text"));
            b.path("fields").forEach(out::add);
            for (JsonNode e : b.path("elements"))
                out.add(e.has("text") && e.path("text").isObject() ? e.path("text") : e);
        }
        return out;
    }

    static List<String> texts(JsonNode message) {
        return textObjects(message).stream().map(o -> o.path("text").asText()).toList();
    }

    // ---- the server's side -----------------------------------------------------------------------

    List<JsonNode> events(String id) {
        List<JsonNode> out = new ArrayList<>();
        fx.get("alice", "/v1/requests/" + id + "/events").json().path("events").forEach(out::add);
        return out;
    }

    JsonNode only(String id, String type) {
        List<JsonNode> found = events(id).stream()
                .filter(e -> e.path("type").asText().equals(type))
                .toList();
        assertThat(found).as(type).hasSize(1);
        return found.getFirst();
    }

    List<JsonNode> deliveries(String id) {
        List<JsonNode> out = new ArrayList<>();
        fx.get("alice", "/v1/requests/" + id + "/deliveries")
                .json()
                .path("deliveries")
                .forEach(out::add);
        return out;
    }

    static ServerConfig.Links slack(String user) {
        return new ServerConfig.Links(null, null, user, null);
    }
}
