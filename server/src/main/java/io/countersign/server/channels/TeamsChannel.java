package io.countersign.server.channels;

import io.countersign.core.Request;
import io.countersign.core.RequestState;
import io.countersign.core.spi.Outbox;
import io.countersign.server.config.Channels;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Asks a Microsoft Teams channel to review pending requests: an Adaptive Card ({@link TeamsCard})
 * posted to the configured Teams workflow ("Post to a channel when a webhook request is received")
 * or incoming webhook, once per request, when policy decides it needs approval and routes it to
 * {@code teams}.
 *
 * <p>The card is seen by everyone in the channel, so its Review button carries a signed one-time
 * link bound to the channel, the request and its digest but to no approver: whoever opens it signs
 * in to the console first, and the review counts only for a person policy admits, under the same
 * separation of duties as everywhere else.
 *
 * <p>A 2xx is delivered (workflows answer 202); 429 is retried after the Retry-After it names; 5xx,
 * 408, timeouts and refused connections are retried with backoff; any other status gives up. The
 * webhook URL carries its own signature, so it is a secret: no message, log or stored error names it.
 */
final class TeamsChannel implements Channel {
    static final String NAME = "teams";
    static final String KIND = "post";
    static final String DEFAULT_TARGET = "default";
    private static final Duration LINK_FALLBACK = Duration.ofHours(1);
    /** Office 365 connectors have answered 200 with this text when Teams itself refused the card. */
    private static final Pattern CONNECTOR_ERROR = Pattern.compile("returned HTTP error (\\d{3})");

    private final ChannelContext ctx;
    private final URI url;
    private final Duration timeout;

    TeamsChannel(ChannelContext ctx, Channels.Teams teams) {
        this.ctx = ctx;
        this.url = url(teams);
        this.timeout = ctx.config().channels().delivery().timeout();
    }

    /** The webhook URL; an error about it never repeats it (its signature is a secret). */
    private static URI url(Channels.Teams teams) {
        try {
            return URI.create(teams.webhookUrl().value());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("channels.teams.webhook_url is not a URL");
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Outbox.Draft> plan(Outbox.Sequenced event, Supplier<Optional<Request>> request) {
        if (!"request.decided".equals(event.type())) return List.of();
        Optional<Request> r = request.get();
        if (r.isEmpty() || r.get().state() != RequestState.PENDING) return List.of();
        return Approvals.target(r.get(), NAME, DEFAULT_TARGET)
                .map(target ->
                        List.of(new Outbox.Draft(NAME, KIND, target, event.requestId(), event.index(), event.type())))
                .orElse(List.of());
    }

    @Override
    public Delivered deliver(Outbox.Delivery d) throws DeliveryFailure {
        Optional<Request> found = ctx.store().find(d.draft().requestId());
        if (found.isEmpty() || found.get().state() != RequestState.PENDING) return Delivered.OK;
        Request r = found.get();
        post(TeamsCard.message(r, reviewUrl(r)).toString());
        return new Delivered(
                null,
                Channel.notified(r.id(), NAME, d.draft().target(), ctx.clock().instant()));
    }

    /** The console's review page behind a link that works once, for whoever signs in, until the request expires. */
    private String reviewUrl(Request r) {
        Instant expires =
                r.expiresAt() != null ? r.expiresAt() : ctx.clock().instant().plus(LINK_FALLBACK);
        return ctx.baseUrl() + "/review/" + ctx.links().issue(NAME, r.id(), r.digest(), null, expires);
    }

    private void post(String body) throws DeliveryFailure {
        HttpRequest req = HttpRequest.newBuilder(url)
                .timeout(timeout)
                .header("content-type", "application/json")
                .header("user-agent", "Countersign")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build();
        HttpResponse<InputStream> res;
        String answer;
        try {
            res = ctx.http().send(req, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = res.body()) {
                answer = new String(in.readNBytes(1024), StandardCharsets.UTF_8);
            }
        } catch (java.net.http.HttpTimeoutException e) {
            throw DeliveryFailure.retry("the Teams workflow did not answer within " + timeout.toMillis() + " ms");
        } catch (IOException e) {
            throw DeliveryFailure.retry(
                    "cannot reach the Teams workflow: " + e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw DeliveryFailure.retry("interrupted");
        }
        judge(status(res.statusCode(), answer), res);
    }

    /** The status Teams meant: a connector's 200 can carry the error Teams gave it. */
    private static int status(int status, String answer) {
        if (status < 200 || status >= 300) return status;
        Matcher m = CONNECTOR_ERROR.matcher(answer);
        return m.find() ? Integer.parseInt(m.group(1)) : status;
    }

    private static void judge(int status, HttpResponse<?> res) throws DeliveryFailure {
        if (status >= 200 && status < 300) return;
        String what = "the Teams workflow answered " + status;
        if (status == 429) throw DeliveryFailure.retryAfter(what, DeliveryFailure.requestedWait(res));
        if (status >= 500 || status == 408) throw DeliveryFailure.retryAfter(what, DeliveryFailure.requestedWait(res));
        throw DeliveryFailure.permanent(what);
    }
}
