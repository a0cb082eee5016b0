package io.countersign.server.channels;

import io.countersign.core.Decision;
import io.countersign.core.Principal;
import io.countersign.core.RefusedException;
import io.countersign.core.Request;
import io.countersign.core.RequestState;
import io.countersign.core.SeparationOfDuties;
import io.countersign.core.Verdict;
import io.countersign.core.spi.StorageException;
import io.countersign.server.Problem;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The page a one-time review link opens ({@code /review/<token>}), for every channel that sends
 * links (email; Teams).
 *
 * <p>Design notes. {@code GET} only reads: it checks the link, shows the request's full context and
 * a form, and records nothing, so mail scanners and link previews that fetch the URL approve
 * nothing. Only the form's {@code POST} reviews. It checks the link again, finds the reviewer (the
 * person the link was sent to, else whoever is signed in to the console), checks the form, then
 * spends the link and asks the request service for the review, which applies separation of duties
 * exactly as the API does and records a refusal in the ledger. A form that is incomplete (no
 * verdict, a reason missing) leaves the link usable; anything that reaches the service spends it.
 * A POST from another site is refused, and every page forbids caching, framing, referrers and
 * every sub-resource.
 */
public final class ReviewPage {
    private static final Logger LOG = LoggerFactory.getLogger(ReviewPage.class);
    static final String PATH = "/review/";
    private static final HeaderName SEC_FETCH_SITE = HeaderNames.create("Sec-Fetch-Site");

    private final ChannelContext ctx;

    public ReviewPage(ChannelContext ctx) {
        this.ctx = ctx;
    }

    public void routes(HttpRules rules) {
        rules.get(PATH + "{token}", (req, res) -> send(res, answer(() -> show(req))))
                .post(PATH + "{token}", (req, res) -> send(res, answer(() -> decide(req))));
    }

    /** What to answer: a status and a page. */
    record Page(int status, String title, String body) {}

    /** Ends handling with {@code page}. */
    private static final class Stop extends RuntimeException {
        private final transient Page page;

        Stop(int status, String title, String body) {
            super(title, null, false, false);
            this.page = new Page(status, title, body);
        }
    }

    private Page show(ServerRequest req) {
        ReviewLinks.Claims c = ctx.links().verify(token(req));
        Request r = request(c);
        String facts = facts(r);
        if (r.state() != RequestState.PENDING) return settled(r, facts);
        Principal who = reviewer(c, req, facts);
        Optional<RefusedException> refused = SeparationOfDuties.refuseReviewer(r, who);
        if (refused.isPresent())
            return new Page(
                    403, "You cannot review this request", problem(refused.get().getMessage()) + facts);
        if (r.reviews().stream().anyMatch(v -> v.reviewer().equals(who.id())))
            return new Page(200, "Already reviewed", notice("You have reviewed this request already.") + facts);
        return new Page(200, title(r), as(who) + facts + form(r));
    }

    private Page decide(ServerRequest req) {
        requireSameOrigin(req);
        ReviewLinks.Claims c = ctx.links().verify(token(req));
        Request r = request(c);
        Principal who = reviewer(c, req, "");
        ReviewPageForm f = ReviewPageForm.read(req);
        if (f.reason().isEmpty() && reasonNeeded(r, f.verdict()))
            return new Page(422, "A reason is needed", problem(reasonHint(r)) + as(who) + facts(r) + form(r));
        if (c.approver() != null) ctx.links().consume(c);
        else ctx.links().consume(c, who.id());
        try {
            Request after = ctx.service().review(c.requestId(), who, f.verdict(), f.reason(), c.channel(), c.digest());
            return done(after, f.verdict());
        } catch (RefusedException e) {
            int status = Problem.of(e.refusal(), e.getMessage()).status();
            return new Page(status, "Your review was refused", problem(e.getMessage()) + facts(r));
        }
    }

    private static Page answer(Supplier<Page> handler) {
        try {
            return handler.get();
        } catch (Stop s) {
            return s.page;
        } catch (ReviewLinks.Rejected e) {
            return rejected(e);
        } catch (ReviewPageForm.Unreadable e) {
            return new Page(
                    e.status, "The form could not be used", problem(e.getMessage() + "; go back and try again."));
        } catch (StorageException e) {
            LOG.error("review page: storage failure: {}", e.getMessage());
            return new Page(503, "Try again later", problem("Countersign could not read or record this just now."));
        }
    }

    private static Page rejected(ReviewLinks.Rejected e) {
        return switch (e.slug()) {
            case "link-expired" ->
                new Page(
                        410,
                        "This link has expired",
                        problem(sentence(e.getMessage()))
                                + notice("A review link expires with the request it was sent for."));
            case "link-used" ->
                new Page(
                        410,
                        "This link was used already",
                        problem(sentence(e.getMessage()))
                                + notice("A review link works once. The request's history shows what was recorded."));
            default -> new Page(404, "This link is not valid", problem(sentence(e.getMessage())));
        };
    }

    private static String token(ServerRequest req) {
        return req.path().pathParameters().get("token");
    }

    private Request request(ReviewLinks.Claims c) {
        return ctx.store()
                .find(c.requestId())
                .orElseThrow(() -> new Stop(404, "No such request", problem("The request of this link is not here.")));
    }

    /** The person the link was sent to, else whoever is signed in to the console. */
    private Principal reviewer(ReviewLinks.Claims c, ServerRequest req, String facts) {
        if (c.approver() != null)
            return ctx.identities()
                    .find(c.approver())
                    .orElseThrow(() -> new Stop(
                            403, "Unknown approver", problem("This link's approver is no longer known here.")));
        return ctx.signIn().principal(req).orElseThrow(() -> signIn(req, facts));
    }

    private Stop signIn(ServerRequest req, String facts) {
        Optional<String> url = ctx.signIn().signInUrl(req.path().path());
        String how = url.map(u -> "<p><a href=\"" + ReviewPageHtml.escape(u) + "\">Sign in to Countersign</a>, "
                        + "then come back to this page.</p>\n")
                .orElse(problem("Sign-in is not configured here, so this link cannot be used to review."));
        return new Stop(
                403, "Sign in to review", notice("This link was not sent to one person: sign in first.") + how + facts);
    }

    /** Refuses a form posted from another site (a forged cross-site form, for a signed-in person). */
    private void requireSameOrigin(ServerRequest req) {
        String site = req.headers().first(SEC_FETCH_SITE).orElse("same-origin");
        boolean sameSite = site.equals("same-origin") || site.equals("none");
        String origin = req.headers().first(HeaderNames.ORIGIN).orElse("null");
        if (!sameSite || !(origin.equals("null") || ours(origin, req)))
            throw new Stop(403, "Refused", problem("This form is only accepted from its own page."));
    }

    private boolean ours(String origin, ServerRequest req) {
        try {
            String authority = URI.create(origin).getAuthority();
            return authority != null
                    && (authority.equalsIgnoreCase(ctx.baseUrl().getAuthority())
                            || authority.equalsIgnoreCase(
                                    req.headers().first(HeaderNames.HOST).orElse("")));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean reasonNeeded(Request r, Verdict v) {
        return v == Verdict.DENY || reasonRequired(r);
    }

    private static boolean reasonRequired(Request r) {
        return r.decision() instanceof Decision.RequireApproval ask && ask.reasonRequired();
    }

    private static String reasonHint(Request r) {
        return reasonRequired(r)
                ? "This request needs a reason with every approval or denial."
                : "A denial needs a reason.";
    }

    private static Page settled(Request r, String facts) {
        return new Page(
                200,
                "Nothing left to review",
                notice("This request is " + r.state().wire() + "; it no longer waits for a review.") + facts);
    }

    private static Page done(Request r, Verdict v) {
        String text = switch (r.state()) {
            case APPROVED -> "Approved. Your approval completed the approvals this request needs.";
            case DENIED -> "Denied. Your denial is recorded and the request is denied.";
            default ->
                v == Verdict.APPROVE
                        ? "Your approval is recorded. The request still waits for more approvals ("
                                + Approvals.requirement(r) + ")."
                        : "Your review is recorded.";
        };
        return new Page(
                200,
                "Review recorded",
                "<p class=\"notice done\">" + ReviewPageHtml.escape(text) + "</p>\n" + facts(r));
    }

    private static String title(Request r) {
        return ReviewPageFacts.oneLine(
                "Review: " + r.action().action().type() + " on " + ReviewPageFacts.resource(r), 120);
    }

    private static String facts(Request r) {
        return ReviewPageHtml.table(ReviewPageFacts.full(r), "");
    }

    private static String as(Principal who) {
        return "<p class=\"who\">You are reviewing as <strong>" + ReviewPageHtml.escape(who.id()) + "</strong>.</p>\n";
    }

    private static String form(Request r) {
        boolean required = reasonRequired(r);
        String label = required ? "Reason (required)" : "Reason (required to deny)";
        return "<form method=\"post\">\n"
                + "<label for=\"reason\">" + label + "</label>\n"
                + "<textarea id=\"reason\" name=\"reason\" maxlength=\"" + ReviewPageForm.MAX_REASON + "\""
                + (required ? " required" : "") + "></textarea>\n"
                + "<div class=\"buttons\">\n"
                + "<button class=\"approve\" type=\"submit\" name=\"verdict\" value=\"approve\">Approve</button>\n"
                + "<button class=\"deny\" type=\"submit\" name=\"verdict\" value=\"deny\">Deny</button>\n"
                + "</div>\n</form>\n"
                + "<p class=\"who\">Nothing is recorded until you press Approve or Deny.</p>\n";
    }

    private static String notice(String text) {
        return ReviewPageHtml.notice("", text);
    }

    private static String problem(String text) {
        return ReviewPageHtml.notice("problem", text);
    }

    private static String sentence(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1) + ".";
    }

    private static void send(ServerResponse res, Page page) {
        res.status(Status.create(page.status()));
        res.header(HeaderNames.CONTENT_TYPE, "text/html; charset=utf-8");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.header(HeaderNames.create("Referrer-Policy"), "no-referrer");
        res.header(HeaderNames.create("X-Frame-Options"), "DENY");
        res.header(HeaderNames.create("X-Content-Type-Options"), "nosniff");
        res.header(
                HeaderNames.create("Content-Security-Policy"),
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
        res.send(ReviewPageHtml.page(page.title(), page.body()).getBytes(StandardCharsets.UTF_8));
    }
}
