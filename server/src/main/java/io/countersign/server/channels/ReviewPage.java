package io.countersign.server.channels;

import io.countersign.core.Decision;
import io.countersign.core.Principal;
import io.countersign.core.RefusedException;
import io.countersign.core.Request;
import io.countersign.core.RequestDigest;
import io.countersign.core.RequestNotFoundException;
import io.countersign.core.RequestService;
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
 * <p>Design notes. {@code GET} only reads: it checks the link, shows the request and a form, and
 * records nothing, so mail scanners and link previews that fetch the URL approve nothing. Only the
 * form's {@code POST} reviews. It checks the link again, finds the reviewer (the person the link was
 * sent to, else whoever is signed in to the console), checks the form and its form token, then asks
 * the request service for the review, which applies separation of duties exactly as the API does
 * and records a refusal in the ledger. A form that is incomplete (no verdict, a reason missing)
 * leaves the link usable.
 *
 * <p>Who sees what. A link sent to one person (email) shows that person the whole request:
 * parameters, context and the full digest. A link not sent to one person (a Teams card a whole
 * channel sees) shows only the summary the card already showed (no parameters, no context, a digest
 * prefix) until someone signs in whom the API would show the request ({@link RequestService#get})
 * and whom separation of duties lets review it; the sign-in page, the page of a settled request and
 * every refusal show the summary only. A signed-in principal is looked up again in the identities on
 * every use, so a session carries no groups older than what is known of the person now. A link sent
 * to one person is refused in a browser signed in to the console as someone else.
 *
 * <p>Forms. Each form carries a form token, an HMAC of the link and the reviewer under the link key
 * ({@link ReviewLinks#formToken}); a {@code POST} without the right one is refused, as is one a
 * browser says comes from another site. Every page forbids caching, framing, referrers and every
 * sub-resource. Nothing unexpected leaves this class: it answers a plain 500 page and logs the
 * failure without the token.
 */
public final class ReviewPage {
    private static final Logger LOG = LoggerFactory.getLogger(ReviewPage.class);
    static final String PATH = "/review/";
    private static final HeaderName SEC_FETCH_SITE = HeaderNames.create("Sec-Fetch-Site");
    private static final String CANNOT = "You cannot review this request";

    private final ChannelContext ctx;

    public ReviewPage(ChannelContext ctx) {
        this.ctx = ctx;
    }

    public void routes(HttpRules rules) {
        rules.get(PATH + "{token}", (req, res) -> handle(req, res, () -> show(req)))
                .post(PATH + "{token}", (req, res) -> handle(req, res, () -> decide(req)));
    }

    private static void handle(ServerRequest req, ServerResponse res, Supplier<Page> handler) {
        send(res, answer(req.path().pathParameters().first("token").orElse(""), handler));
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
        String token = token(req);
        ReviewLinks.Claims c = ctx.links().verify(token);
        Request r = request(c);
        boolean shared = c.approver() == null;
        if (shared && r.state() != RequestState.PENDING) return settled(r, summary(r));
        Principal who = reviewer(c, req, r);
        Optional<RefusedException> refused = SeparationOfDuties.refuseReviewer(r, who);
        if (shared && (refused.isPresent() || !visible(r, who)))
            return new Page(403, CANNOT, problem(refusal(refused)) + summary(r));
        String facts = full(r);
        if (r.state() != RequestState.PENDING) return settled(r, facts);
        if (refused.isPresent())
            return new Page(403, CANNOT, problem(refused.get().getMessage()) + facts);
        if (reviewedBy(r, who))
            return new Page(200, "Already reviewed", notice("You have reviewed this request already.") + facts);
        return new Page(200, title(r), as(who) + facts + form(r, token, who));
    }

    private Page decide(ServerRequest req) {
        refuseCrossSite(req);
        String token = token(req);
        ReviewLinks.Claims c = ctx.links().verify(token);
        Request r = request(c);
        Principal who = reviewer(c, req, r);
        ReviewPageForm f = ReviewPageForm.read(req);
        if (!ctx.links().formTokenMatches(token, who.id(), f.csrf()))
            throw new Stop(
                    403,
                    "Refused",
                    problem("This form is only accepted from its own page: open the link again and use the form"
                            + " it shows."));
        if (f.reason().isEmpty() && reasonNeeded(r, f.verdict()))
            return new Page(
                    422,
                    "A reason is needed",
                    problem(reasonHint(r)) + as(who) + factsFor(c, r, who) + form(r, token, who));
        return review(c, r, who, f);
    }

    /**
     * Records the review and spends the link.
     *
     * <p>Spending the link (its nonce, in the outbox) and recording the review are two writes. When
     * the service may accept the review, it goes first and the link is spent after it: a review that
     * fails (storage unavailable) leaves the link usable and nothing is lost. One review per link
     * still holds, because the nonce is per reviewer (a link sent to one person has one reviewer; a
     * shared link is spent per person) and the service itself refuses a second review by the same
     * person ({@code already-reviewed}): of two concurrent posts of one link one is recorded and the
     * other is a recorded refusal. When the request as read already rules the review out (separation
     * of duties, another digest, no longer pending, reviewed already: none of these ever stops being
     * true), the link is spent first, so that posting a spent link again records nothing more.
     */
    private Page review(ReviewLinks.Claims c, Request r, Principal who, ReviewPageForm f) {
        boolean refusedAnyway = refusedAnyway(c, r, who);
        if (refusedAnyway) spend(c, who);
        Request after;
        try {
            after = ctx.service().review(c.requestId(), who, f.verdict(), f.reason(), c.channel(), c.digest());
        } catch (RefusedException e) {
            if (!refusedAnyway) spendAfterward(c, who);
            int status = Problem.of(e.refusal(), e.getMessage()).status();
            String facts = c.approver() == null ? summary(r) : full(r);
            return new Page(status, "Your review was refused", problem(e.getMessage()) + facts);
        }
        spendAfterward(c, who);
        return done(after, f.verdict());
    }

    /** Whether the service will refuse this review whatever happens meanwhile. */
    private static boolean refusedAnyway(ReviewLinks.Claims c, Request r, Principal who) {
        return SeparationOfDuties.refuseReviewer(r, who).isPresent()
                || !RequestDigest.matches(r.digest(), c.digest())
                || r.state() != RequestState.PENDING
                || reviewedBy(r, who);
    }

    /** Spends the link for {@code who}; throws {@link ReviewLinks.Rejected} when it was spent already. */
    private void spend(ReviewLinks.Claims c, Principal who) {
        if (c.approver() != null) ctx.links().consume(c);
        else ctx.links().consume(c, who.id());
    }

    /**
     * Spends the link once the service has answered. It may have been spent by a concurrent post, or
     * the write may fail: either way the service refuses this person a second review of the request.
     */
    private void spendAfterward(ReviewLinks.Claims c, Principal who) {
        try {
            spend(c, who);
        } catch (ReviewLinks.Rejected e) {
            // a concurrent post of the same link spent it; the service kept one review
        } catch (StorageException e) {
            LOG.warn(
                    "review page: a review of {} was recorded but its link was not marked used: {}",
                    c.requestId().value(),
                    e.getMessage());
        }
    }

    static Page answer(String token, Supplier<Page> handler) {
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
        } catch (RuntimeException e) {
            // Not to the server's error handler: it logs the path, and the path holds the live token.
            LOG.error("review page: unexpected failure: {}", described(e, token));
            return new Page(
                    500,
                    "Something went wrong",
                    problem("Countersign could not handle this link just now. Try again later; the request's"
                            + " history shows what was recorded."));
        }
    }

    /** An unexpected failure for the log: classes, messages and where each was thrown, without the token. */
    static String described(Throwable e, String token) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null && sb.length() < 4_000; t = t.getCause()) {
            if (!sb.isEmpty()) sb.append("; caused by ");
            sb.append(t.getClass().getName());
            if (t.getMessage() != null) sb.append(": ").append(t.getMessage());
            if (t.getStackTrace().length > 0) sb.append(" at ").append(t.getStackTrace()[0]);
            if (t.getCause() == t) break;
        }
        String s = sb.toString();
        return token == null || token.isEmpty() ? s : s.replace(token, "<token>");
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

    /**
     * The person the link was sent to, else whoever is signed in to the console. A link sent to one
     * person is not used by someone else signed in here: that would record their review under the
     * link's approver.
     */
    private Principal reviewer(ReviewLinks.Claims c, ServerRequest req, Request r) {
        Optional<Principal> signedIn = signedIn(req);
        if (c.approver() == null) return signedIn.orElseThrow(() -> signIn(req, r));
        if (signedIn.isPresent() && !signedIn.get().id().equals(c.approver()))
            throw new Stop(
                    403,
                    "Signed in as someone else",
                    problem("This link was sent to " + c.approver() + ", but this browser is signed in to"
                                    + " Countersign as " + signedIn.get().id() + ". Nothing was recorded.")
                            + notice("Sign out of the console, or open the link in a browser where you are "
                                    + c.approver() + "."));
        return ctx.identities()
                .find(c.approver())
                .orElseThrow(() ->
                        new Stop(403, "Unknown approver", problem("This link's approver is no longer known here.")));
    }

    /** Who is signed in to the console, as the identities know them now (else as at sign-in). */
    private Optional<Principal> signedIn(ServerRequest req) {
        return ctx.signIn()
                .principal(req)
                .map(p -> ctx.identities().find(p.id()).orElse(p));
    }

    /** Whether the API would show {@code r} to {@code who}: the same rule, applied by the same service. */
    private boolean visible(Request r, Principal who) {
        try {
            ctx.service().get(r.id(), who);
            return true;
        } catch (RequestNotFoundException e) {
            return false;
        }
    }

    private static String refusal(Optional<RefusedException> refused) {
        return refused.map(RefusedException::getMessage).orElse("You are not among those who may see this request.");
    }

    /** The facts for a page with a form: all of them, unless a shared link's reviewer may not see them. */
    private String factsFor(ReviewLinks.Claims c, Request r, Principal who) {
        boolean mayView = c.approver() != null
                || (SeparationOfDuties.refuseReviewer(r, who).isEmpty() && visible(r, who));
        return mayView ? full(r) : summary(r);
    }

    private static boolean reviewedBy(Request r, Principal who) {
        return r.reviews().stream().anyMatch(v -> v.reviewer().equals(who.id()));
    }

    private Stop signIn(ServerRequest req, Request r) {
        Optional<String> url = ctx.signIn().signInUrl(req.path().path());
        String how = url.map(u -> "<p><a href=\"" + ReviewPageHtml.escape(u) + "\">Sign in to Countersign</a>, "
                        + "then come back to this page.</p>\n")
                .orElse(problem("Sign-in is not configured here, so this link cannot be used to review."));
        return new Stop(
                403,
                "Sign in to review",
                notice("This link was not sent to one person: sign in first.") + how + summary(r));
    }

    /**
     * Refuses a form a browser says comes from another site. The form token is what makes a forged
     * form fail; this only answers early and plainly when the browser says so.
     */
    private void refuseCrossSite(ServerRequest req) {
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
                200, "Review recorded", "<p class=\"notice done\">" + ReviewPageHtml.escape(text) + "</p>\n" + full(r));
    }

    private static String title(Request r) {
        return ReviewPageFacts.oneLine(
                "Review: " + r.action().action().type() + " on " + ReviewPageFacts.resource(r), 120);
    }

    /** Everything: parameters, context and the full digest. */
    private static String full(Request r) {
        return ReviewPageHtml.table(ReviewPageFacts.full(r), "");
    }

    /** What a Teams card shows: no parameters or context, a digest prefix. */
    private static String summary(Request r) {
        return ReviewPageHtml.table(ReviewPageFacts.summary(r), "");
    }

    private static String as(Principal who) {
        return "<p class=\"who\">You are reviewing as <strong>" + ReviewPageHtml.escape(who.id()) + "</strong>.</p>\n";
    }

    private String form(Request r, String token, Principal who) {
        boolean required = reasonRequired(r);
        String label = required ? "Reason (required)" : "Reason (required to deny)";
        return "<form method=\"post\">\n"
                + "<input type=\"hidden\" name=\"" + ReviewPageForm.CSRF + "\" value=\""
                + ReviewPageHtml.escape(ctx.links().formToken(token, who.id())) + "\">\n"
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
