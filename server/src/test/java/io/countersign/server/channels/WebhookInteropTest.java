package io.countersign.server.channels;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.json.Json;
import io.countersign.server.ServerFixture;
import io.countersign.server.config.Channels;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Countersign's webhook signatures checked by someone else's code: the Standard Webhooks reference
 * library for JavaScript ({@code interop/webhook-receiver}, installed with npm ci), which also checks
 * the timestamp is recent.
 */
class WebhookInteropTest {
    static final Path DIR =
            Path.of("..", "interop", "webhook-receiver").toAbsolutePath().normalize();
    static final String SECRET = "whsec_"
            + Base64.getEncoder().encodeToString("an interop secret of 32 bytes!!!".getBytes(StandardCharsets.UTF_8));

    @TempDir
    Path dir;

    Process receiver;
    ServerFixture fx;

    @AfterEach
    void stop() {
        if (fx != null) fx.close();
        if (receiver != null) receiver.destroyForcibly();
    }

    @Test
    void theStandardWebhooksReferenceLibraryVerifiesEveryDelivery() throws Exception {
        int port = startReceiver(SECRET);
        fx = server(port, SECRET);
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        fx.review("bob", id, "approve", "ok");
        fx.review("carol", id, "approve", "ok");

        JsonNode got = awaitReceived(port, 6);
        assertThat(got.path("failed")).isEmpty();
        List<String> types = new java.util.ArrayList<>();
        got.path("verified")
                .forEach(v -> types.add(v.path("payload").path("type").asText()));
        assertThat(types)
                .contains(
                        "request.submitted", "request.decided", "review.recorded", "request.approved", "grant.issued");
    }

    @Test
    void aDeliverySignedWithAnotherSecretIsRejectedByTheReceiver() throws Exception {
        int port = startReceiver(SECRET);
        String other = "whsec_"
                + Base64.getEncoder()
                        .encodeToString("not the receiver's secret, 32 b.".getBytes(StandardCharsets.UTF_8));
        fx = server(port, other);
        fx.submitted(ServerFixture.PII_EXPORT);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        JsonNode got;
        do {
            Thread.sleep(50);
            got = received(port);
        } while (got.path("failed").isEmpty() && System.nanoTime() < deadline);
        assertThat(got.path("failed")).isNotEmpty();
        assertThat(got.path("verified")).isEmpty();
    }

    private ServerFixture server(int port, String secret) {
        Channels channels = Channels.none()
                .withWebhooks(List.of(new Channels.Webhook(
                        "interop",
                        URI.create("http://127.0.0.1:" + port + "/hook"),
                        new Channels.Secret(secret),
                        null)));
        ServerFixture f = new ServerFixture(
                dir, Path.of("..", "examples", "policy.yaml"), Map.of(), c -> c.withChannels(channels));
        // the receiver refuses timestamps more than five minutes from its own clock
        f.clock.advance(Duration.between(f.clock.instant(), Instant.now()));
        return f;
    }

    private int startReceiver(String secret) throws IOException, InterruptedException {
        install();
        ProcessBuilder pb =
                new ProcessBuilder("node", DIR.resolve("receiver.mjs").toString()).redirectErrorStream(true);
        pb.environment().put("WEBHOOK_SECRET", secret);
        receiver = pb.start();
        BufferedReader out =
                new BufferedReader(new InputStreamReader(receiver.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        if (line == null || !line.startsWith("listening "))
            throw new AssertionError("the webhook receiver did not start: " + line);
        return Integer.parseInt(line.substring("listening ".length()).strip());
    }

    private static JsonNode awaitReceived(int port, int atLeast) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        JsonNode got = received(port);
        while (got.path("verified").size() + got.path("failed").size() < atLeast) {
            if (System.nanoTime() > deadline) throw new AssertionError("the receiver got only " + got);
            Thread.sleep(50);
            got = received(port);
        }
        return got;
    }

    private static JsonNode received(int port) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/received"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        return Json.mapper().readTree(r.body());
    }

    static void install() {
        io.countersign.server.NpmPackages.install(DIR, "standardwebhooks");
    }
}
