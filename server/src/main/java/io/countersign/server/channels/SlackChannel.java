package io.countersign.server.channels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.RequestState;
import io.countersign.core.spi.Outbox;
import io.countersign.server.config.Channels;
import io.countersign.server.identity.LinkKind;
import io.helidon.webserver.http.HttpRules;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Asks for approval in Slack: a Block Kit message with Approve and Deny buttons in the configured
 * channel (or the one the rule names, {@code slack:C0123}), kept up to date as the request changes,
 * and a direct message to the requester's owner once it leaves pending. Reviews come back through
 * {@link SlackInteractions}.
 *
 * <p>Design notes. Three kinds of delivery: {@code post} (on {@code request.decided} of a request
 * still pending and routed to Slack; its ref is the message's {@code channel/ts}), {@code update}
 * (on each review and each later transition: {@code chat.update} of that message) and {@code
 * outcome} (the owner's DM, on leaving pending; its target is the owner's principal id, resolved to
 * a Slack user at delivery). Every delivery renders the request as it is when it runs, so a post
 * made late shows the current state, and repeating an update is harmless. An update that finds its
 * post not made yet is retried; one whose post was given up gives up too. Deliveries of one request
 * render and send under one lock, so that two updates cannot land on Slack in the wrong order.
 */
final class SlackChannel implements Channel {
    static final String NAME = "slack";
    static final String POST = "post";
    static final String UPDATE = "update";
    static final String OUTCOME = "outcome";
    private static final Set<String> LEAVES_PENDING =
            Set.of("request.approved", "request.denied", "request.expired", "request.cancelled");
    private static final Set<String> CHANGES =
            Set.of("review.recorded", "request.revoked", "request.executed", "request.failed");

    private final ChannelContext ctx;
    private final Channels.Slack slack;
    private final SlackApi api;
    private final Duration timeout;
    private final SlackInteractions interactions;
    private final ReentrantLock[] stripes = new ReentrantLock[64];

    SlackChannel(ChannelContext ctx, Channels.Slack slack) {
        this.ctx = ctx;
        this.slack = slack;
        this.api = new SlackApi(ctx.http(), slack.apiUrl(), slack.botToken());
        this.timeout = ctx.config().channels().delivery().timeout();
        this.interactions = new SlackInteractions(
                ctx, api, new SlackSignature(slack.signingSecret().bytes(), ctx.clock()));
        for (int i = 0; i < stripes.length; i++) stripes[i] = new ReentrantLock();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Outbox.Draft> plan(Outbox.Sequenced event, Supplier<Optional<Request>> request) {
        boolean post = event.type().equals("request.decided");
        if (event.requestId() == null || !(post || watched(event.type()))) return List.of();
        Optional<Request> r = request.get();
        Optional<String> target = r.flatMap(x -> Approvals.target(x, NAME, slack.channel()));
        if (target.isEmpty()) return List.of();
        if (post)
            return r.get().state() == RequestState.PENDING ? List.of(draft(event, POST, target.get())) : List.of();
        List<Outbox.Draft> out = new ArrayList<>();
        out.add(draft(event, UPDATE, target.get()));
        if (ownerIsTold(event, r.get()))
            out.add(draft(event, OUTCOME, r.get().requester().owner()));
        return out;
    }

    private static boolean watched(String type) {
        return LEAVES_PENDING.contains(type) || CHANGES.contains(type);
    }

    /**
     * Whether {@code event} took the request out of pending (an expired grant is not that) and its
     * owner has a Slack user to be told at.
     */
    private boolean ownerIsTold(Outbox.Sequenced event, Request r) {
        boolean left =
                LEAVES_PENDING.contains(event.type()) && !(event.type().equals("request.expired") && r.grant() != null);
        String owner = r.requester().owner();
        return left
                && owner != null
                && ctx.identities().link(owner, LinkKind.SLACK).isPresent();
    }

    private static Outbox.Draft draft(Outbox.Sequenced e, String kind, String target) {
        return new Outbox.Draft(NAME, kind, target, e.requestId(), e.index(), e.type());
    }

    @Override
    public Delivered deliver(Outbox.Delivery d) throws DeliveryFailure {
        return switch (d.draft().kind()) {
            case POST -> post(d);
            case UPDATE -> update(d);
            case OUTCOME -> tellOwner(d);
            default ->
                throw DeliveryFailure.permanent(
                        "unknown slack delivery kind " + d.draft().kind());
        };
    }

    private Delivered post(Outbox.Delivery d) throws DeliveryFailure {
        RequestId id = d.draft().requestId();
        JsonNode posted = locked(id, () -> {
            Request r = request(id);
            ObjectNode body = SlackMessage.approval(r, ctx.store().events(id))
                    .put("channel", d.draft().target());
            return api.call("chat.postMessage", body, timeout);
        });
        String ts = posted.path("ts").asText("");
        if (ts.isEmpty()) throw DeliveryFailure.permanent("slack chat.postMessage answered without a ts");
        String channel = posted.path("channel").asText(d.draft().target());
        return new Delivered(
                channel + "/" + ts,
                Channel.notified(id, NAME, d.draft().target(), ctx.clock().instant()));
    }

    private Delivered update(Outbox.Delivery d) throws DeliveryFailure {
        RequestId id = d.draft().requestId();
        Optional<String> ref = postedMessage(id);
        if (ref.isEmpty()) return Delivered.OK; // the request was never posted: nothing to update
        int slash = ref.get().indexOf('/');
        locked(id, () -> {
            ObjectNode body = SlackMessage.approval(request(id), ctx.store().events(id))
                    .put("channel", ref.get().substring(0, slash))
                    .put("ts", ref.get().substring(slash + 1));
            return api.call("chat.update", body, timeout);
        });
        return Delivered.OK;
    }

    /** The {@code channel/ts} of the request's approval message, empty when none was planned. */
    private Optional<String> postedMessage(RequestId id) throws DeliveryFailure {
        List<Outbox.Delivery> posts = ctx.outbox().forRequest(id).stream()
                .filter(x ->
                        x.draft().channel().equals(NAME) && x.draft().kind().equals(POST))
                .toList();
        if (posts.isEmpty()) return Optional.empty();
        for (Outbox.Delivery p : posts)
            if (p.state() == Outbox.Delivery.State.DELIVERED
                    && p.ref() != null
                    && p.ref().contains("/")) return Optional.of(p.ref());
        if (posts.stream().anyMatch(p -> p.state() == Outbox.Delivery.State.PENDING))
            throw DeliveryFailure.retry("the approval message is not posted yet");
        throw DeliveryFailure.permanent("the approval message was never posted (its delivery was given up)");
    }

    private Delivered tellOwner(Outbox.Delivery d) throws DeliveryFailure {
        String owner = d.draft().target();
        String user = ctx.identities()
                .link(owner, LinkKind.SLACK)
                .orElseThrow(() -> DeliveryFailure.permanent(owner + " has no linked Slack user"));
        RequestId id = d.draft().requestId();
        Request r = request(id);
        ObjectNode body = SlackMessage.ownerNotice(r, ctx.store().events(id)).put("channel", user);
        api.call("chat.postMessage", body, timeout);
        return Delivered.OK;
    }

    private Request request(RequestId id) throws DeliveryFailure {
        if (id == null) throw DeliveryFailure.permanent("the delivery names no request");
        return ctx.store().find(id).orElseThrow(() -> DeliveryFailure.permanent("request " + id + " is not stored"));
    }

    private <T> T locked(RequestId id, SlackCall<T> call) throws DeliveryFailure {
        ReentrantLock lock = stripes[Math.floorMod(id.hashCode(), stripes.length)];
        lock.lock();
        try {
            return call.run();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void routes(HttpRules rules) {
        interactions.routes(rules);
    }

    @Override
    public void close() {
        interactions.close();
    }

    /** A render-and-send that may fail as a delivery does. */
    @FunctionalInterface
    private interface SlackCall<T> {
        T run() throws DeliveryFailure;
    }
}
