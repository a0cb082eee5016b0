package io.countersign.server.channels;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.sun.net.httpserver.HttpServer;
import io.countersign.core.json.Json;
import io.countersign.server.ServerFixture;
import io.countersign.server.config.Channels;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Standard Webhooks deliveries from the ledger to a real HTTP receiver. */
class WebhookChannelTest {
    static final byte[] SECRET_BYTES = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8);
    static final String SECRET = "whsec_" + Base64.getEncoder().encodeToString(SECRET_BYTES);

    @TempDir
    Path dir;

    Receiver receiver;
    ServerFixture fx;

    @BeforeEach
    void receiver() throws IOException {
        receiver = new Receiver();
    }

    @AfterEach
    void stop() {
        if (fx != null) fx.close();
        receiver.close();
    }

    ServerFixture start(List<String> events) {
        Channels channels = Channels.none()
                .withWebhooks(
                        List.of(new Channels.Webhook("siem", receiver.uri(), new Channels.Secret(SECRET), events)))
                .withDelivery(
                        new Channels.Delivery(4, Duration.ofSeconds(2), Duration.ofSeconds(8), Duration.ofSeconds(5)));
        return new ServerFixture(
                dir, Path.of("..", "examples", "policy.yaml"), Map.of(), c -> c.withChannels(channels));
    }

    @Test
    void sendsEveryEventOfARequestSignedPerStandardWebhooksWithItsLedgerIndex() throws Exception {
        fx = start(List.of());
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        fx.review("bob", id, "approve", "ok");
        fx.review("carol", id, "approve", "ok");
        awaitTrue(() -> receiver.types(id).size() == 6); // up to four are sent at once, in any order

        assertThat(receiver.types(id))
                .containsExactly(
                        "request.submitted",
                        "request.decided",
                        "review.recorded",
                        "review.recorded",
                        "request.approved",
                        "grant.issued");
        JsonNode entries = fx.get("alice", "/v1/ledger/entries").json();
        for (Received r : receiver.received) {
            assertThat(r.verifies()).as("signature of %s", r.id).isTrue();
            JsonNode body = r.json();
            long index = body.path("data").path("index").asLong();
            // the event sent is the ledger leaf itself, byte for byte once canonicalised
            assertThat(io.countersign.core.json.CanonicalJson.canonicalize(
                            body.path("data").path("event")))
                    .isEqualTo(leaf(entries, index));
            assertThat(body.path("type").asText())
                    .isEqualTo(body.path("data").path("event").path("type").asText());
        }
    }

    @Test
    void sendsOnlyTheEventTypesItIsConfiguredFor() throws Exception {
        fx = start(List.of("request.*"));
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        fx.review("bob", id, "deny", "no");
        awaitTrue(() -> receiver.types(id).size() == 3);
        assertThat(receiver.types(id)).containsExactly("request.submitted", "request.decided", "request.denied");
    }

    @Test
    void retriesAFailingReceiverWithBackoffKeepingTheSameMessageIdAndShowsItThroughTheApi() throws Exception {
        receiver.failNext(2, 503);
        fx = start(List.of("request.submitted"));
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        Duration first = retryScheduled(id, 1);
        assertThat(first).isEqualTo(Duration.ofSeconds(2));
        JsonNode pending = deliveries(id);
        assertThat(pending.path(0).path("state").asText()).isEqualTo("pending");
        assertThat(pending.path(0).path("last_error").asText()).isEqualTo("the endpoint answered 503");
        assertThat(pending.path(0).path("channel").asText()).isEqualTo("webhook:siem");

        fx.clock.advance(first);
        Duration second = retryScheduled(id, 2);
        assertThat(second).isEqualTo(Duration.ofSeconds(4)); // doubled
        fx.clock.advance(second);
        awaitTrue(() -> receiver.types(id).contains("request.submitted"));

        assertThat(receiver.allIds()).hasSize(3).containsOnly(receiver.allIds().getFirst());
        awaitTrue(() -> "delivered".equals(deliveries(id).path(0).path("state").asText()));
        assertThat(deliveries(id).path(0).path("attempts").asInt()).isEqualTo(3);
        // Delivered at last, it still says what went wrong before.
        assertThat(deliveries(id).path(0).path("last_error").asText()).isEqualTo("the endpoint answered 503");
        String metrics = fx.send(java.net.http.HttpRequest.newBuilder(fx.uri("/metrics")))
                .body();
        assertThat(metrics)
                .contains(
                        "countersign_delivery_failures_total{channel=\"webhook:siem\",gave_up=\"false\",kind=\"event\"} 2.0")
                .contains("countersign_deliveries{channel=\"webhook:siem\",state=\"delivered\"} 1.0");
    }

    @Test
    void givesUpAfterMaxAttemptsAnd410GivesUpAtOnce() throws Exception {
        receiver.failNext(1, 410);
        fx = start(List.of("request.submitted"));
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        awaitTrue(() -> "dead".equals(deliveries(id).path(0).path("state").asText()));
        assertThat(deliveries(id).path(0).path("last_error").asText()).isEqualTo("the endpoint answered 410 Gone");
        assertThat(deliveries(id).path(0).path("attempts").asInt()).isEqualTo(1);
    }

    @Test
    void aDeliveryPendingAtShutdownIsMadeAfterRestartAndNothingIsLost() throws Exception {
        receiver.failNext(1_000, 500);
        fx = start(List.of("request.submitted"));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) ids.add(fx.submitted(ServerFixture.PII_EXPORT.replace("churn", "churn " + i)));
        awaitTrue(() -> receiver.attempts.get() >= 5);
        fx.close();
        fx = null;

        receiver.failNext(0, 500);
        fx = start(List.of("request.submitted"));
        fx.clock.advance(Duration.ofMinutes(10)); // past every backoff and lease
        awaitTrue(() -> ids.stream().allMatch(id -> receiver.types(id).contains("request.submitted")));
        for (String id : ids)
            awaitTrue(() ->
                    "delivered".equals(deliveries(id).path(0).path("state").asText()));
    }

    @Test
    void deliveriesShowTheWebhooksNameNeverItsUrlOrSecretAndOnlyPeopleListThemAll() throws Exception {
        fx = start(List.of("request.submitted"));
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        awaitTrue(() -> "delivered".equals(deliveries(id).path(0).path("state").asText()));
        var all = fx.get("alice", "/v1/deliveries?state=delivered&channel=webhook:siem");
        assertThat(all.status()).isEqualTo(200);
        assertThat(all.json().path("deliveries")).hasSize(1);
        assertThat(all.body()).doesNotContain(receiver.uri().toString(), SECRET, "whsec_");
        assertThat(all.json().path("deliveries").path(0).path("target").asText())
                .isEqualTo("siem");
        assertThat(fx.get("deploy-bot", "/v1/deliveries").status()).isEqualTo(403);
        assertThat(fx.get("deploy-bot", "/v1/deliveries").problem()).isEqualTo("wrong-principal-kind");
        // erin (sales) may not see a PII export, so she does not see its deliveries either
        assertThat(fx.get("erin", "/v1/deliveries").json().path("deliveries")).isEmpty();
        assertThat(fx.get("deploy-bot", "/v1/requests/" + id + "/deliveries").status())
                .isEqualTo(200);
        assertThat(fx.get("alice", "/v1/deliveries?state=lost").problem()).isEqualTo("invalid-parameter");
    }

    /** Waits until attempt {@code n} of the request's first delivery has failed; how long until the next. */
    private Duration retryScheduled(String id, int n) throws InterruptedException {
        awaitTrue(() -> {
            JsonNode d = deliveries(id).path(0);
            return d.path("attempts").asInt() == n
                    && d.has("last_error")
                    && java.time.Instant.parse(d.path("next_attempt_at").asText())
                            .isBefore(fx.clock.instant().plus(Duration.ofMinutes(1)));
        });
        return Duration.between(
                fx.clock.instant(),
                java.time.Instant.parse(
                        deliveries(id).path(0).path("next_attempt_at").asText()));
    }

    private JsonNode deliveries(String id) {
        return fx.get("alice", "/v1/requests/" + id + "/deliveries").json().path("deliveries");
    }

    private static String leaf(JsonNode entries, long index) {
        ArrayNode list = (ArrayNode) entries.path("entries");
        for (JsonNode e : list) {
            if (e.path("index").asLong() == index) {
                return e.path("leaf").asText();
            }
        }
        throw new AssertionError("no ledger entry " + index + " in " + entries);
    }

    static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not met within 20 s");
            Thread.sleep(20);
        }
    }

    /** A real HTTP endpoint that records what it is sent and can be told to fail. */
    static final class Receiver implements AutoCloseable {
        final HttpServer server;
        final List<Received> received = new CopyOnWriteArrayList<>();
        final List<String> attemptIds = new CopyOnWriteArrayList<>();
        final AtomicInteger attempts = new AtomicInteger();
        volatile int failures;
        volatile int failStatus;

        Receiver() throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/hook", ex -> {
                byte[] body = ex.getRequestBody().readAllBytes();
                attempts.incrementAndGet();
                attemptIds.add(ex.getRequestHeaders().getFirst("webhook-id"));
                int status = 204;
                synchronized (this) {
                    if (failures > 0) {
                        failures--;
                        status = failStatus;
                    }
                }
                if (status == 204) {
                    received.add(new Received(
                            ex.getRequestHeaders().getFirst("webhook-id"),
                            ex.getRequestHeaders().getFirst("webhook-timestamp"),
                            ex.getRequestHeaders().getFirst("webhook-signature"),
                            new String(body, StandardCharsets.UTF_8)));
                }
                ex.sendResponseHeaders(status, -1);
                ex.close();
            });
            server.start();
        }

        synchronized void failNext(int n, int status) {
            failures = n;
            failStatus = status;
        }

        URI uri() {
            return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook");
        }

        /** The types of the events received for one request, in ledger order (delivery order is not promised). */
        List<String> types(String requestId) {
            return received.stream()
                    .sorted(java.util.Comparator.comparingLong(
                            r -> r.json().path("data").path("index").asLong()))
                    .filter(r -> requestId.equals(r.json()
                            .path("data")
                            .path("event")
                            .path("request_id")
                            .asText()))
                    .map(r -> r.json().path("type").asText())
                    .toList();
        }

        List<String> allIds() {
            return attemptIds;
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    record Received(String id, String timestamp, String signature, String body) {
        JsonNode json() {
            try {
                return Json.mapper().readTree(body);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }

        /** Verified as the Standard Webhooks specification says a receiver verifies. */
        boolean verifies() throws Exception {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(SECRET_BYTES, "HmacSHA256"));
            byte[] expected = mac.doFinal((id + "." + timestamp + "." + body).getBytes(StandardCharsets.UTF_8));
            for (String part : signature.split(" ")) {
                if (part.startsWith("v1,")
                        && MessageDigest.isEqual(expected, Base64.getDecoder().decode(part.substring(3)))) return true;
            }
            return false;
        }
    }
}
