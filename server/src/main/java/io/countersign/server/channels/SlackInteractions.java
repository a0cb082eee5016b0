package io.countersign.server.channels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Principal;
import io.countersign.core.RefusedException;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.RequestNotFoundException;
import io.countersign.core.RequestState;
import io.countersign.core.SeparationOfDuties;
import io.countersign.core.Verdict;
import io.countersign.core.json.Json;
import io.countersign.server.Problem;
import io.countersign.server.identity.LinkKind;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/channels/slack/interactions}: Slack's interactivity request URL.
 *
 * <p>Design notes. The raw body's signature is verified ({@link SlackSignature}) before anything in
 * it is read; a forged, unsigned or stale request is a 401 problem and changes nothing. Each
 * interaction is then taken once: its {@code trigger_id} (else its signature) is recorded as used,
 * so a replayed or redelivered payload is acknowledged and ignored. A button click ({@code
 * block_actions}) is acknowledged at once and handled on a virtual thread, well inside Slack's three
 * seconds: an Approve without a required reason is recorded, a Deny or an Approve that needs a reason
 * opens a modal ({@code views.open}); refusals are told to the clicker alone through the payload's
 * {@code response_url}. A modal's submission ({@code view_submission}) is handled before the answer,
 * because the answer is what shows a refusal in the modal ({@code response_action: errors}).
 *
 * <p>A Slack user counts as the principal their id is linked to ({@code identities[].links.slack})
 * and as no one else: an unlinked user cannot review, and a review goes through {@code
 * RequestService.review} with channel {@code slack}, so separation of duties refuses the requester,
 * the agent's owner and the on-behalf-of human exactly as on the API, and records the refusal.
 */
final class SlackInteractions {
    static final String PATH = "/v1/channels/slack/interactions";
    private static final Logger LOG = LoggerFactory.getLogger(SlackInteractions.class);
    private static final HeaderName TIMESTAMP = HeaderNames.create("X-Slack-Request-Timestamp");
    private static final HeaderName SIGNATURE = HeaderNames.create("X-Slack-Signature");
    private static final int MAX_BYTES = 1 << 20;
    /** Slack's trigger_id and its patience both last three seconds. */
    private static final Duration ANSWER = Duration.ofMillis(2500);

    private final ChannelContext ctx;
    private final SlackApi api;
    private final SlackSignature signature;
    private final ExecutorService background = Executors.newVirtualThreadPerTaskExecutor();

    SlackInteractions(ChannelContext ctx, SlackApi api, SlackSignature signature) {
        this.ctx = ctx;
        this.api = api;
        this.signature = signature;
    }

    void routes(HttpRules rules) {
        rules.post(PATH, this::handle);
    }

    private void handle(ServerRequest req, ServerResponse res) {
        byte[] body = body(req);
        String signed = req.headers().first(SIGNATURE).orElse(null);
        signature.verify(req.headers().first(TIMESTAMP).orElse(null), signed, body);
        JsonNode payload = payload(body);
        if (!firstTime(payload, signed)) {
            LOG.info("ignored a repeated slack interaction");
            answer(res, null);
            return;
        }
        switch (payload.path("type").asText("")) {
            case "block_actions" -> {
                answer(res, null);
                background.execute(() -> clicked(payload));
            }
            case "view_submission" -> answer(res, submitted(payload));
            default -> answer(res, null);
        }
    }

    // ---- a button click ----------------------------------------------------------------------

    private void clicked(JsonNode p) {
        try {
            JsonNode action = p.path("actions").path(0);
            String id = action.path("action_id").asText("");
            if (!id.equals(SlackMessage.APPROVE) && !id.equals(SlackMessage.DENY)) return;
            Verdict verdict = id.equals(SlackMessage.APPROVE) ? Verdict.APPROVE : Verdict.DENY;
            Optional<Shown> shown = Shown.parse(action.path("value").asText(""));
            if (shown.isEmpty()) {
                tell(p, "That button is not one of Countersign's.");
                return;
            }
            Optional<Principal> who = reviewer(p);
            if (who.isEmpty()) tell(p, unlinked(p));
            else review(p, who.get(), verdict, shown.get());
        } catch (RuntimeException e) {
            LOG.warn("a slack click could not be handled: {}", e.toString());
            tell(p, "Countersign could not record your review; try again, or review through the CLI or API.");
        }
    }

    private void review(JsonNode p, Principal who, Verdict verdict, Shown shown) {
        try {
            Request r = ctx.store().find(shown.id()).orElseThrow(() -> new RequestNotFoundException(shown.id()));
            if (asksForReason(r, verdict) && mayReview(r, who)) {
                openModal(p, r, verdict, shown.digest());
            } else {
                ctx.service().review(shown.id(), who, verdict, "", SlackChannel.NAME, shown.digest());
            }
        } catch (RefusedException e) {
            tell(p, "Your " + verdict.wire() + " of " + shown.id() + " was not recorded: " + e.getMessage());
        } catch (RequestNotFoundException e) {
            tell(p, "Countersign has no request " + shown.id() + ".");
        }
    }

    private static boolean asksForReason(Request r, Verdict verdict) {
        return verdict == Verdict.DENY
                || r.decision() instanceof io.countersign.core.Decision.RequireApproval ask && ask.reasonRequired();
    }

    /**
     * Whether a review by {@code who} could count; when not, no modal opens and the attempt goes to
     * the request service as it is, which records the refusal and says why.
     */
    private static boolean mayReview(Request r, Principal who) {
        return r.state() == RequestState.PENDING
                && SeparationOfDuties.refuseReviewer(r, who).isEmpty()
                && r.reviews().stream().noneMatch(v -> v.reviewer().equals(who.id()));
    }

    private void openModal(JsonNode p, Request r, Verdict verdict, String digest) {
        ObjectNode body = Json.mapper()
                .createObjectNode()
                .put("trigger_id", p.path("trigger_id").asText(""));
        body.set("view", SlackMessage.modal(r, verdict, digest));
        try {
            api.call("views.open", body, ANSWER);
        } catch (DeliveryFailure f) {
            LOG.warn("could not open the reason form for {}: {}", r.id(), f.getMessage());
            tell(p, "Slack did not open the form for your reason; click again, or review through the CLI or API.");
        }
    }

    // ---- a modal's submission ----------------------------------------------------------------

    /** The answer to a submitted reason form: null closes it, else the errors to show in it. */
    private ObjectNode submitted(JsonNode p) {
        JsonNode view = p.path("view");
        if (!SlackMessage.MODAL.equals(view.path("callback_id").asText(""))) return null;
        Optional<Form> form = Form.parse(view.path("private_metadata").asText(""));
        if (form.isEmpty()) return errors("This form is not one of Countersign's.");
        Optional<Principal> who = reviewer(p);
        if (who.isEmpty()) return errors(unlinked(p));
        String reason = view.path("state")
                .path("values")
                .path(SlackMessage.REASON)
                .path(SlackMessage.REASON)
                .path("value")
                .asText("");
        Form f = form.get();
        try {
            ctx.service().review(f.id(), who.get(), f.verdict(), reason, SlackChannel.NAME, f.digest());
            return null;
        } catch (RefusedException e) {
            return errors("Not recorded: " + e.getMessage());
        } catch (RequestNotFoundException e) {
            return errors("Countersign has no request " + f.id() + ".");
        }
    }

    private static ObjectNode errors(String message) {
        ObjectNode o = Json.mapper().createObjectNode().put("response_action", "errors");
        o.putObject("errors").put(SlackMessage.REASON, SlackText.cut(message, 300));
        return o;
    }

    // ---- shared ------------------------------------------------------------------------------

    private Optional<Principal> reviewer(JsonNode p) {
        return ctx.identities()
                .resolve(LinkKind.SLACK, p.path("user").path("id").asText(""));
    }

    private static String unlinked(JsonNode p) {
        String user = SlackText.line(p.path("user").path("id").asText(""), 32);
        LOG.info("slack user {} is linked to no identity; their review was not taken", user);
        return "Your Slack user " + user + " is linked to no Countersign identity, so you cannot review. "
                + "An admin can link it (identities[].links.slack).";
    }

    /** Tells the clicker alone, through the interaction's response_url. */
    private void tell(JsonNode p, String text) {
        URI url;
        try {
            url = URI.create(p.path("response_url").asText(""));
        } catch (IllegalArgumentException e) {
            url = null;
        }
        if (!api.mayRespondTo(url)) {
            LOG.warn("a slack interaction's response_url is missing or not Slack's; the clicker was not told");
            return;
        }
        ObjectNode body =
                SlackText.message(text, 2000).put("response_type", "ephemeral").put("replace_original", false);
        try {
            api.respond(url, body, ANSWER);
        } catch (DeliveryFailure f) {
            LOG.warn("could not tell a slack user why: {}", f.getMessage());
        }
    }

    /** Records the interaction as taken; false when it was taken before (a replay or a redelivery). */
    private boolean firstTime(JsonNode p, String signed) {
        String trigger = p.path("trigger_id").asText("");
        String nonce = trigger.isEmpty() ? "sig:" + signed : "trigger:" + trigger; // whatever the kind of interaction
        return ctx.outbox()
                .useOnce("slack:" + SlackText.cut(nonce, 200), ctx.clock().instant());
    }

    private static byte[] body(ServerRequest req) {
        if (req.headers().contentLength().orElse(0) > MAX_BYTES) throw tooLarge();
        if (!req.content().hasEntity()) return new byte[0];
        try (InputStream in = req.content().inputStream()) {
            byte[] b = in.readNBytes(MAX_BYTES + 1);
            if (b.length > MAX_BYTES) throw tooLarge();
            return b;
        } catch (IOException e) {
            throw new Problem(400, "unreadable-body", "Unreadable body", e.getMessage()).thrown();
        }
    }

    /** The {@code payload} field of a signed form body, as JSON. */
    private static JsonNode payload(byte[] body) {
        String form = new String(body, StandardCharsets.UTF_8);
        for (String pair : form.split("&")) {
            int eq = pair.indexOf('=');
            if (eq < 0 || !pair.substring(0, eq).equals("payload")) continue;
            try {
                JsonNode p = Json.mapper().readTree(URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                if (p != null && p.isObject()) return p;
            } catch (IOException | IllegalArgumentException e) {
                break;
            }
        }
        throw new Problem(
                        400,
                        "invalid-slack-payload",
                        "Invalid Slack payload",
                        "expected a form body with payload=<JSON object>")
                .thrown();
    }

    private static Problem.Thrown tooLarge() {
        return new Problem(
                        413, "body-too-large", "Body too large", "request bodies are limited to 1 MiB (1048576 bytes)")
                .thrown();
    }

    private static void answer(ServerResponse res, ObjectNode json) {
        res.status(Status.OK_200);
        if (json == null) {
            res.send();
            return;
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(json.toString().getBytes(StandardCharsets.UTF_8));
    }

    void close() {
        background.shutdown();
    }

    /** What a button was shown for: a request and its digest ({@code "<id> <digest>"}). */
    record Shown(RequestId id, String digest) {
        static Optional<Shown> parse(String value) {
            int space = value.indexOf(' ');
            if (space < 0) return Optional.empty();
            try {
                return Optional.of(new Shown(new RequestId(value.substring(0, space)), value.substring(space + 1)));
            } catch (RequestId.MalformedIdException e) {
                return Optional.empty();
            }
        }
    }

    /** What a reason form was opened for: its {@code private_metadata}. */
    record Form(RequestId id, String digest, Verdict verdict) {
        static Optional<Form> parse(String metadata) {
            try {
                JsonNode m = Json.mapper().readTree(metadata);
                return Optional.of(new Form(
                        new RequestId(m.path("request").asText("")),
                        m.path("digest").asText(""),
                        Verdict.fromWire(m.path("verdict").asText(""))));
            } catch (IOException | RuntimeException e) {
                return Optional.empty();
            }
        }
    }
}
