package io.countersign.server.channels;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Request;
import io.countersign.core.json.CanonicalJson;
import io.countersign.core.json.Json;
import io.countersign.core.spi.Outbox;
import io.countersign.server.config.Channels;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Sends ledger events to one URL, signed per the Standard Webhooks specification: headers {@code
 * webhook-id} (the same on every retry of one event), {@code webhook-timestamp} (seconds, of this
 * attempt) and {@code webhook-signature} ({@code v1,} base64 HMAC-SHA256 over {@code
 * id.timestamp.body} with the secret's bytes). The body is {@code {"type", "timestamp", "data":
 * {"index", "event"}}} where {@code event} is the ledger leaf itself: metadata only, never a payload
 * or a secret.
 *
 * <p>A 2xx is delivered; 410 Gone gives up; anything else (another status, a timeout, a refused
 * connection) is retried, after the receiver's Retry-After when it sends one.
 */
final class WebhookChannel implements Channel {
    static final String KIND = "event";

    private final ChannelContext ctx;
    private final Channels.Webhook hook;
    private final String name;
    private final SecretKeySpec key;
    private final Duration timeout;

    WebhookChannel(ChannelContext ctx, Channels.Webhook hook) {
        this.ctx = ctx;
        this.hook = hook;
        this.name = "webhook:" + hook.name();
        this.key = new SecretKeySpec(
                Base64.getDecoder().decode(hook.secret().value().substring("whsec_".length())), "HmacSHA256");
        this.timeout = ctx.config().channels().delivery().timeout();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Outbox.Draft> plan(Outbox.Sequenced event, Supplier<Optional<Request>> request) {
        if (!hook.wants(event.type())) return List.of();
        return List.of(new Outbox.Draft(name, KIND, hook.name(), event.requestId(), event.index(), event.type()));
    }

    @Override
    public Delivered deliver(Outbox.Delivery d) throws DeliveryFailure {
        List<Outbox.Sequenced> found = ctx.outbox().eventsAfter(d.draft().eventIndex() - 1, 1);
        if (found.isEmpty() || found.getFirst().index() != d.draft().eventIndex())
            throw DeliveryFailure.permanent("ledger event " + d.draft().eventIndex() + " is not in the ledger");
        Outbox.Sequenced event = found.getFirst();
        String body = body(event);
        String id = messageId(event);
        long timestamp = ctx.clock().instant().getEpochSecond();
        HttpRequest req = HttpRequest.newBuilder(hook.url())
                .timeout(timeout)
                .header("content-type", "application/json")
                .header("user-agent", "Countersign")
                .header("webhook-id", id)
                .header("webhook-timestamp", Long.toString(timestamp))
                .header("webhook-signature", signature(id, timestamp, body))
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build();
        HttpResponse<Void> res;
        try {
            res = ctx.http().send(req, HttpResponse.BodyHandlers.discarding());
        } catch (java.net.http.HttpTimeoutException e) {
            throw DeliveryFailure.retry("no answer within " + timeout.toMillis() + " ms");
        } catch (IOException e) {
            throw DeliveryFailure.retry(
                    "cannot reach the endpoint: " + e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw DeliveryFailure.retry("interrupted");
        }
        int status = res.statusCode();
        if (status >= 200 && status < 300) return Delivered.OK;
        if (status == 410) throw DeliveryFailure.permanent("the endpoint answered 410 Gone");
        Duration after = DeliveryFailure.requestedWait(res);
        throw DeliveryFailure.retryAfter("the endpoint answered " + status, after);
    }

    /** The same for every attempt at one event, and distinct across events and ledgers. */
    static String messageId(Outbox.Sequenced event) {
        return "msg_" + event.index() + "_"
                + java.util.HexFormat.of()
                        .formatHex(CanonicalJson.sha256(event.body().getBytes(StandardCharsets.UTF_8)))
                        .substring(0, 16);
    }

    static String body(Outbox.Sequenced event) {
        ObjectNode leaf;
        try {
            leaf = (ObjectNode) Json.mapper().readTree(event.body());
        } catch (IOException e) {
            throw new IllegalStateException("ledger event " + event.index() + " is not JSON", e);
        }
        ObjectNode root = Json.mapper().createObjectNode().put("type", event.type());
        root.put("timestamp", leaf.path("at").asText());
        ObjectNode data = root.putObject("data");
        data.put("index", event.index());
        data.set("event", leaf);
        return root.toString();
    }

    String signature(String id, long timestamp, String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            byte[] sig = mac.doFinal((id + "." + timestamp + "." + body).getBytes(StandardCharsets.UTF_8));
            return "v1," + Base64.getEncoder().encodeToString(sig);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable", e);
        }
    }
}
