package io.countersign.server.channels;

import io.countersign.core.Principal;
import io.countersign.core.Request;
import io.countersign.core.RequestState;
import io.countersign.core.spi.Outbox;
import io.countersign.server.config.Channels;
import io.countersign.server.identity.LinkKind;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks approvers by email. When a request starts waiting for approval (its {@code request.decided}
 * event) and policy routes it to email (a rule's {@code notify} names {@code email}, or names no
 * channel), each eligible approver with an email address linked to their principal gets one
 * message: the request's facts and a one-time link to the {@link ReviewPage}, bound to that
 * approver, the request, its digest and its expiry.
 *
 * <p>Deliveries are addressed to principal ids, never to email addresses, so that addresses (which
 * are personal data) stay out of the deliveries table and the ledger; the address is looked up when
 * the message is sent. A delivery made after the request stopped pending, or after the approver
 * reviewed it some other way, sends nothing.
 */
final class EmailChannel implements Channel {
    private static final Logger LOG = LoggerFactory.getLogger(EmailChannel.class);
    static final String NAME = "email";
    static final String KIND = "approval";

    private final ChannelContext ctx;
    private final EmailSmtp smtp;

    EmailChannel(ChannelContext ctx, Channels.Email config) {
        this.ctx = ctx;
        this.smtp = new EmailSmtp(config, ctx.config().channels().delivery().timeout());
        if (ctx.config().channels().publicUrl() == null)
            LOG.warn("channels.public_url is not set: review links in emails point at this server's own address,"
                    + " which approvers' browsers may not reach");
        // Config loading allows this only to a relay on this machine; it should still not go unnoticed.
        if (config.tls() == Channels.Email.Tls.NONE && config.password() != null)
            LOG.warn("channels.email.tls is none: the SMTP password goes in clear to {}", config.host());
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Outbox.Draft> plan(Outbox.Sequenced event, Supplier<Optional<Request>> request) {
        if (!"request.decided".equals(event.type())) return List.of();
        Optional<Request> found = request.get();
        if (found.isEmpty() || !wanted(found.get())) return List.of();
        return Approvals.eligible(found.get(), ctx.identities()).stream()
                .filter(p -> address(p).isPresent())
                .map(p -> new Outbox.Draft(NAME, KIND, p.id(), event.requestId(), event.index(), event.type()))
                .toList();
    }

    private static boolean wanted(Request r) {
        return r.state() == RequestState.PENDING
                && Approvals.target(r, NAME, "all").isPresent();
    }

    @Override
    public Delivered deliver(Outbox.Delivery d) throws DeliveryFailure {
        Optional<Request> found = ctx.store().find(d.draft().requestId());
        if (found.isEmpty() || found.get().state() != RequestState.PENDING) return Delivered.OK;
        Request r = found.get();
        Optional<Principal> approver = Approvals.eligible(r, ctx.identities()).stream()
                .filter(p -> p.id().equals(d.draft().target()))
                .findFirst();
        if (approver.isEmpty()) return Delivered.OK; // reviewed meanwhile, or no longer an approver
        String to = address(approver.get())
                .orElseThrow(() -> DeliveryFailure.permanent("the approver has no email address any more"));
        Instant now = ctx.clock().instant();
        String token =
                ctx.links().issue(NAME, r.id(), r.digest(), approver.get().id(), r.expiresAt());
        smtp.send(to, EmailMessage.of(r, approver.get().id(), link(token)), now);
        return new Delivered(null, Channel.notified(r.id(), NAME, approver.get().id(), now));
    }

    private Optional<String> address(Principal p) {
        return ctx.identities().link(p.id(), LinkKind.EMAIL);
    }

    private String link(String token) {
        return ctx.baseUrl() + ReviewPage.PATH + token;
    }
}
