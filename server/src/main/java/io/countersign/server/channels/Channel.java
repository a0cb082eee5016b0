package io.countersign.server.channels;

import io.countersign.core.LedgerEvent;
import io.countersign.core.Request;
import io.countersign.core.spi.Outbox;
import io.helidon.webserver.http.HttpRules;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * A place where people are asked to review (Slack, Teams, email) or where events are sent
 * (webhooks). The {@link Dispatcher} shows a channel every ledger event once, in order; the channel
 * answers with the deliveries it wants ({@link #plan}), which are stored, and later asks it to make
 * each one ({@link #deliver}), retrying with backoff until it succeeds or is given up.
 *
 * <p>Deliveries render what they send from the request as it is when they are made, not as it was
 * when they were planned: a message posted late, after an outage, shows the request's current
 * state.
 */
public interface Channel {

    /** The channel's name: {@code slack}, {@code teams}, {@code email}, {@code webhook:<name>}. */
    String name();

    /**
     * The deliveries {@code event} asks of this channel, usually none. Runs on the dispatcher's one
     * fan-out thread; must not block on the channel's peer.
     *
     * @param request the request the event concerns, read on first use (empty for system events)
     */
    List<Outbox.Draft> plan(Outbox.Sequenced event, Supplier<Optional<Request>> request);

    /** Makes one delivery. Runs on a virtual thread; may block on the peer up to the delivery timeout. */
    Delivered deliver(Outbox.Delivery delivery) throws DeliveryFailure;

    /** Adds the channel's HTTP routes (an interactivity endpoint, a confirmation page), if any. */
    default void routes(HttpRules rules) {}

    /** Every channel the config names, in a fixed order. */
    static List<Channel> configured(ChannelContext ctx) {
        io.countersign.server.config.Channels c = ctx.config().channels();
        List<Channel> out = new java.util.ArrayList<>();
        if (c.slack() != null) out.add(new SlackChannel(ctx, c.slack()));
        for (io.countersign.server.config.Channels.Webhook w : c.webhooks()) out.add(new WebhookChannel(ctx, w));
        if (c.teams() != null) out.add(new TeamsChannel(ctx, c.teams()));
        if (c.email() != null) out.add(new EmailChannel(ctx, c.email()));
        return List.copyOf(out);
    }

    /**
     * The ledger event that records a request's approvers were asked through {@code channel}: the
     * recipient is a principal id or a channel id, never an address or a secret.
     */
    static LedgerEvent notified(
            io.countersign.core.RequestId id, String channel, String recipient, java.time.Instant at) {
        var detail = io.countersign.core.json.Json.mapper().createObjectNode();
        detail.put("channel", channel).put("recipient", recipient);
        return new LedgerEvent("request.notified", id, at, "system", detail);
    }

    /** Releases what the channel holds. */
    default void close() {}

    /**
     * A delivery made.
     *
     * @param ref the channel's handle on it, kept with the delivery (a Slack message's ts), or null
     * @param event a ledger event to append with the delivery's success ({@code request.notified}), or null
     */
    record Delivered(String ref, LedgerEvent event) {
        public static final Delivered OK = new Delivered(null, null);
    }
}
