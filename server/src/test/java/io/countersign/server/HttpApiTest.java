package io.countersign.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.server.ServerFixture.Reply;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class HttpApiTest {
    @TempDir
    Path data;

    ServerFixture cs;

    @BeforeEach
    void start() {
        cs = new ServerFixture(data);
    }

    @AfterEach
    void stop() {
        cs.close();
    }

    @Test
    void piiExportWalksFromSubmissionToExecution() {
        Reply submitted = cs.submit("deploy-bot", ServerFixture.PII_EXPORT);
        String id = submitted.json().path("id").asText();
        assertPendingPiiExport(submitted, id);
        assertRefusedReviews(id);
        String digest = approveByTwoDataOwners(id);
        assertRedeemOnceForItsDigest(id, digest);

        Reply outcome = cs.post("deploy-bot", "/v1/requests/" + id + "/outcome", "{\"status\":\"executed\"}");
        assertThat(outcome.status()).isEqualTo(200);
        assertThat(cs.get("deploy-bot", "/v1/requests/" + id).state()).isEqualTo("executed");
    }

    private static void assertPendingPiiExport(Reply r, String id) {
        assertThat(r.status()).isEqualTo(201);
        assertThat(r.header("Location")).isEqualTo("/v1/requests/" + id);
        assertThat(r.state()).isEqualTo("pending");
        JsonNode decision = r.json().path("decision");
        assertThat(decision.path("outcome").asText()).isEqualTo("require_approval");
        assertThat(texts(decision.path("matched_rules"))).containsExactly("pii-export-in-prod");
        assertThat(r.json().path("digest").asText()).matches("[0-9a-f]{64}");
    }

    private void assertRefusedReviews(String id) {
        Reply byOwner = cs.review("alice", id, "approve", "looks fine");
        assertThat(byOwner.status()).isEqualTo(403);
        assertThat(byOwner.json().path("type").asText()).isEqualTo("urn:countersign:problem:owner-review");
        assertThat(byOwner.header("Content-Type")).startsWith("application/problem+json");
        Reply byAgent = cs.review("deploy-bot", id, "approve", "me");
        assertThat(byAgent.status()).isEqualTo(403);
        assertThat(byAgent.problem()).isEqualTo("non-human-reviewer");
    }

    private String approveByTwoDataOwners(String id) {
        assertThat(cs.review("bob", id, "approve", "ticket 12").state()).isEqualTo("pending");
        Reply approved = cs.review("carol", id, "approve", "ticket 12");
        assertThat(approved.status()).isEqualTo(200);
        assertThat(approved.state()).isEqualTo("approved");
        assertThat(approved.json().path("grant").path("id").asText()).startsWith("grt_");
        return approved.json().path("digest").asText();
    }

    private void assertRedeemOnceForItsDigest(String id, String digest) {
        String path = "/v1/requests/" + id + "/redeem";
        Reply wrong = cs.post("deploy-bot", path, "{\"digest\":\"" + "0".repeat(64) + "\"}");
        assertThat(wrong.status()).isEqualTo(409);
        assertThat(wrong.problem()).isEqualTo("digest-mismatch");
        Reply redeemed = cs.post("deploy-bot", path, "{\"digest\":\"" + digest + "\"}");
        assertThat(redeemed.status()).isEqualTo(200);
        assertThat(redeemed.json().path("grant").has("redeemed_at")).isTrue();
        Reply again = cs.post("deploy-bot", path, "{\"digest\":\"" + digest + "\"}");
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.problem()).isEqualTo("already-redeemed");
    }

    @Test
    void aRequestReadsTheSameWhereverItIsShownInOneFixedShape() {
        String held = cs.submitted(ServerFixture.PII_EXPORT);
        cs.review("bob", held, "approve", "fine by me");
        Reply read = cs.submit("deploy-bot", ServerFixture.READ_QUERY);
        String allowed = read.json().path("id").asText();
        String digest = read.json().path("digest").asText();
        cs.post("deploy-bot", "/v1/requests/" + allowed + "/redeem", "{\"digest\":\"" + digest + "\"}");
        cs.post("deploy-bot", "/v1/requests/" + allowed + "/outcome", "{\"status\":\"executed\"}");

        JsonNode listed = cs.get("deploy-bot", "/v1/requests?limit=10").json().path("requests");
        for (String id : List.of(held, allowed)) {
            JsonNode one = cs.get("deploy-bot", "/v1/requests/" + id).json();
            JsonNode inList = null;
            for (JsonNode r : listed) if (r.path("id").asText().equals(id)) inList = r;
            assertThat(one).as("GET %s and the list", id).isEqualTo(inList);
            List<String> fields = new java.util.ArrayList<>();
            one.fieldNames().forEachRemaining(fields::add);
            List<String> expected = new java.util.ArrayList<>(
                    List.of("id", "state", "digest", "requester", "action", "resource", "justification"));
            if (one.has("context")) expected.add("context");
            expected.addAll(List.of("decision", "reviews"));
            if (one.has("grant")) expected.add("grant");
            if (one.has("outcome")) expected.add("outcome");
            expected.add("created_at");
            if (one.has("expires_at")) expected.add("expires_at");
            expected.add("updated_at");
            assertThat(fields).as("fields of %s, in order", id).isEqualTo(expected);
        }
        JsonNode pending = cs.get("deploy-bot", "/v1/requests/" + held).json();
        assertThat(pending.path("reviews").get(0).path("reviewer").asText()).isEqualTo("bob");
        assertThat(pending.has("expires_at")).isTrue();
        assertThat(pending.has("grant")).isFalse();
        JsonNode done = cs.get("deploy-bot", "/v1/requests/" + allowed).json();
        assertThat(done.path("state").asText()).isEqualTo("executed");
        assertThat(done.path("outcome").path("status").asText()).isEqualTo("executed");
        assertThat(done.path("grant").path("digest").asText()).isEqualTo(digest);
    }

    @Test
    void allowedReadGetsItsGrantAtOnce() {
        Reply r = cs.submit("deploy-bot", ServerFixture.READ_QUERY);
        assertThat(r.status()).isEqualTo(201);
        assertThat(r.state()).isEqualTo("approved");
        assertThat(r.json().path("decision").path("outcome").asText()).isEqualTo("allow");
        assertThat(r.json().path("grant").path("digest").asText())
                .isEqualTo(r.json().path("digest").asText());
    }

    @Test
    void redeemingAReadAfterItsGrantTtlIsGone() {
        Reply r = cs.submit("deploy-bot", ServerFixture.READ_QUERY);
        cs.clock.advance(Duration.ofMinutes(5).plusSeconds(1));
        String body = "{\"digest\":\"" + r.json().path("digest").asText() + "\"}";
        Reply late = cs.post("deploy-bot", "/v1/requests/" + r.json().path("id").asText() + "/redeem", body);
        assertThat(late.status()).isEqualTo(410);
        assertThat(late.problem()).isEqualTo("expired");
    }

    @Test
    void pendingRequestExpiresAfterItsPendingTtl() {
        String id = cs.submitted(ServerFixture.PII_EXPORT);
        cs.clock.advance(Duration.ofMinutes(31));
        Reply review = cs.review("bob", id, "approve", "too late");
        assertThat(review.status()).isEqualTo(409);
        assertThat(review.problem()).isEqualTo("not-pending");
        assertThat(cs.get("bob", "/v1/requests/" + id).state()).isEqualTo("expired");
    }

    @Test
    @Timeout(60) // a safety net should the waiter never register, not a timing assertion
    void longPollReturnsTheRequestOnceAnotherCallerApprovesIt() throws Exception {
        String id = cs.submitted(ServerFixture.PII_EXPORT);
        cs.review("bob", id, "approve", "ticket 12");
        CompletableFuture<Reply> waiting = cs.sendAsync(cs.as("deploy-bot", "/v1/requests/" + id + "?wait=30s"));
        while (cs.server().service().waiting() < 1) Thread.sleep(5);
        assertThat(waiting).isNotDone();

        cs.review("carol", id, "approve", "ticket 12");

        Reply r = waiting.get();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.state()).isEqualTo("approved");
    }

    @Test
    void longPollRefusesAWaitThatIsNotADuration() {
        String id = cs.submitted(ServerFixture.PII_EXPORT);
        Reply r = cs.get("deploy-bot", "/v1/requests/" + id + "?wait=bogus");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.problem()).isEqualTo("invalid-wait");
    }

    @Test
    void longPollRefusesAWaitLongerThanMaxWait() {
        String id = cs.submitted(ServerFixture.PII_EXPORT);
        Reply r = cs.get("deploy-bot", "/v1/requests/" + id + "?wait=6m");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.problem()).isEqualTo("invalid-wait");
    }

    @Test
    void pendingListShowsARequestToEligibleReviewersButNotToTheAgentsOwner() {
        String id = cs.submitted(ServerFixture.PII_EXPORT);
        assertThat(listed("bob", "?state=pending")).containsExactly(id);
        assertThat(listed("alice", "?state=pending")).isEmpty();
    }

    @Test
    void aReviewFromTheCliIsRecordedAsFromTheCliAndAnyOtherAsFromTheApi() {
        String id = cs.submitted(ServerFixture.PII_EXPORT);
        assertThat(reviewFromTheCli("alice", id, "mine").status()).isEqualTo(403);
        assertThat(reviewFromTheCli("bob", id, "ok").status()).isEqualTo(200);
        assertThat(cs.review("carol", id, "approve", "fine").status()).isEqualTo(200); // the JDK's own User-Agent
        JsonNode reviews = cs.get("deploy-bot", "/v1/requests/" + id).json().path("reviews");
        assertThat(reviews.get(0).path("channel").asText()).isEqualTo("cli");
        assertThat(reviews.get(1).path("channel").asText()).isEqualTo("api");
        List<String> recorded = new ArrayList<>();
        for (JsonNode e :
                cs.get("deploy-bot", "/v1/requests/" + id + "/events").json().path("events"))
            if (e.path("type").asText().startsWith("review."))
                recorded.add(e.path("type").asText() + " " + e.path("actor").asText() + " "
                        + e.path("channel").asText());
        assertThat(recorded)
                .containsExactly("review.refused alice cli", "review.recorded bob cli", "review.recorded carol api");
    }

    /** An approval sent as {@code countersign review} sends it: with the CLI's User-Agent. */
    private Reply reviewFromTheCli(String who, String id, String reason) {
        return cs.send(cs.as(who, "/v1/requests/" + id + "/reviews")
                .header("Content-Type", "application/json")
                .header("User-Agent", "countersign-cli/0.1.0")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"verdict\":\"approve\",\"reason\":\"" + reason + "\"}")));
    }

    @Test
    void pendingListDropsARequestOnceTheReviewerHasReviewedIt() {
        String id = cs.submitted(ServerFixture.PII_EXPORT);
        cs.review("bob", id, "approve", "ticket 12");
        assertThat(listed("bob", "?state=pending")).isEmpty();
        assertThat(listed("carol", "?state=pending")).containsExactly(id);
    }

    @Test
    void sameIdempotencyKeyAndBodyReplaysTheFirstRequest() {
        Reply first = cs.send(idempotent("k-1", ServerFixture.PII_EXPORT));
        Reply replay = cs.send(idempotent("k-1", ServerFixture.PII_EXPORT));
        assertThat(replay.json().path("id")).isEqualTo(first.json().path("id"));
        assertThat(replay.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(first.header("Idempotent-Replayed")).isNull();
        assertThat(listed("deploy-bot", "")).hasSize(1);
    }

    @Test
    void sameIdempotencyKeyWithAnotherBodyIsRefused() {
        cs.send(idempotent("k-1", ServerFixture.PII_EXPORT));
        Reply other = cs.send(idempotent("k-1", ServerFixture.READ_QUERY));
        assertThat(other.status()).isEqualTo(422);
        assertThat(other.problem()).isEqualTo("idempotency-key-reused");
        assertThat(listed("deploy-bot", "")).hasSize(1);
    }

    @Test
    void requesterCancelsItsPendingRequest() {
        String id = cs.submitted(ServerFixture.PII_EXPORT);
        Reply r = cs.post("deploy-bot", "/v1/requests/" + id + "/cancel", "");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.state()).isEqualTo("cancelled");
        assertThat(cs.review("bob", id, "approve", "late").problem()).isEqualTo("not-pending");
    }

    @Test
    void onlyTheRequesterMayCancel() {
        String id = cs.submitted(ServerFixture.PII_EXPORT);
        Reply r = cs.post("bob", "/v1/requests/" + id + "/cancel", "");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.problem()).isEqualTo("not-requester");
    }

    @Test
    void eligibleApproverRevokesAnUnusedGrant() {
        String id = cs.submitted(ServerFixture.PROD_SHELL);
        assertThat(cs.review("dave", id, "approve", "").state()).isEqualTo("approved");
        Reply r = cs.post("carol", "/v1/requests/" + id + "/revoke", "{\"reason\":\"changed my mind\"}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.state()).isEqualTo("revoked");
        String redeem = "{\"digest\":\"" + r.json().path("digest").asText() + "\"}";
        assertThat(cs.post("deploy-bot", "/v1/requests/" + id + "/redeem", redeem)
                        .status())
                .isEqualTo(409);
    }

    @Test
    void ineligibleHumanCannotRevoke() {
        String id = cs.submitted(ServerFixture.PROD_SHELL);
        cs.review("dave", id, "approve", "");
        Reply r = cs.post("erin", "/v1/requests/" + id + "/revoke", "");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.problem()).isEqualTo("ineligible-reviewer");
        assertThat(cs.get("deploy-bot", "/v1/requests/" + id).state()).isEqualTo("approved");
    }

    private java.net.http.HttpRequest.Builder idempotent(String key, String body) {
        return cs.as("deploy-bot", "/v1/requests")
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body));
    }

    private List<String> listed(String who, String query) {
        Reply r = cs.get(who, "/v1/requests" + query);
        assertThat(r.status()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        r.json().path("requests").forEach(n -> ids.add(n.path("id").asText()));
        return ids;
    }

    static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
