package io.countersign.server.channels;

import static io.countersign.server.channels.SlackText.line;
import static io.countersign.server.channels.SlackText.markdown;
import static io.countersign.server.channels.SlackText.plain;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.ActionRequest;
import io.countersign.core.Decision;
import io.countersign.core.LedgerEvent;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.core.Request;
import io.countersign.core.RequestState;
import io.countersign.core.Resource;
import io.countersign.core.Review;
import io.countersign.core.Verdict;
import io.countersign.core.json.Json;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The Block Kit Countersign sends to Slack: the approval message (posted, then updated as the
 * request changes), the owner's notice of the outcome, and the modal that asks for a reason.
 * Everything is rendered from the request as it is now. Agent-supplied values only ever appear as
 * {@code plain_text} or in the message's unformatted top-level text (see {@link SlackText}); the
 * server's own labels and values are {@code mrkdwn}.
 */
final class SlackMessage {
    static final String ACTIONS = "countersign_review";
    static final String APPROVE = "approve";
    static final String DENY = "deny";
    static final String MODAL = "countersign_reason";
    static final String REASON = "reason";
    static final int DIGEST_SHOWN = 12;
    private static final int REASON_MAX = 1000;
    private static final Set<String> TRANSITIONS = Set.of(
            "request.approved",
            "request.denied",
            "request.expired",
            "request.cancelled",
            "request.revoked",
            "request.executed",
            "request.failed");
    private static final DateTimeFormatter UTC =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'").withZone(ZoneOffset.UTC);

    private SlackMessage() {}

    /** The approval message's text and blocks ({@code channel} and {@code ts} are the caller's). */
    static ObjectNode approval(Request r, List<LedgerEvent> events) {
        ObjectNode m = SlackText.message(title(r) + ": " + summary(r), 300);
        ArrayNode blocks = m.putArray("blocks");
        blocks.addObject().put("type", "header").set("text", plain(SlackText.cut(title(r), 150)));
        blocks.add(fields(requester(r)));
        blocks.add(section(plain("Justification: " + line(r.action().justification(), 1000))));
        blocks.add(fields(policy(r)));
        if (r.state() == RequestState.PENDING) blocks.add(buttons(r));
        else blocks.add(section(plain(outcome(r, events))));
        blocks.add(context("Countersign request " + r.id()));
        return m;
    }

    /** The notice to the requester's owner that the request left pending, and how. */
    static ObjectNode ownerNotice(Request r, List<LedgerEvent> events) {
        String who = r.requester().kind() == PrincipalKind.AGENT ? "Your agent " : "The service ";
        String text = who + line(r.requester().id(), 128) + " asked for " + summary(r) + ". " + outcome(r, events);
        ObjectNode m = SlackText.message(text, 300);
        ArrayNode blocks = m.putArray("blocks");
        blocks.add(section(plain(SlackText.cut(text, 2900))));
        blocks.add(context("Countersign request " + r.id()));
        return m;
    }

    /** The modal that asks the reviewer for a reason; what it is for rides in {@code private_metadata}. */
    static ObjectNode modal(Request r, Verdict verdict, String digest) {
        boolean deny = verdict == Verdict.DENY;
        ObjectNode meta = Json.mapper()
                .createObjectNode()
                .put("request", r.id().value())
                .put("digest", digest)
                .put("verdict", verdict.wire());
        ObjectNode view = Json.mapper()
                .createObjectNode()
                .put("type", "modal")
                .put("callback_id", MODAL)
                .put("private_metadata", meta.toString());
        view.set("title", plain(deny ? "Deny request" : "Approve request"));
        view.set("submit", plain(deny ? "Deny" : "Approve"));
        view.set("close", plain("Cancel"));
        ArrayNode blocks = view.putArray("blocks");
        blocks.add(section(plain(SlackText.cut(title(r) + ": " + summary(r), 2900))));
        ObjectNode input = blocks.addObject().put("type", "input").put("block_id", REASON);
        input.set("label", plain(deny ? "Why deny it?" : "Why approve it? (policy asks for a reason)"));
        input.putObject("element")
                .put("type", "plain_text_input")
                .put("action_id", REASON)
                .put("multiline", true)
                .put("max_length", REASON_MAX);
        return view;
    }

    /** What the request asks for, on one line: {@code db.export on table customers (prod)}. */
    static String summary(Request r) {
        Resource res = r.action().resource();
        String env = res.env() == null || res.env().isBlank() ? "" : " (" + line(res.env(), 64) + ")";
        return line(r.action().action().type(), 128) + " on " + line(res.type(), 64) + " " + line(res.id(), 200) + env;
    }

    private static String title(Request r) {
        String state = switch (r.state()) {
            case PENDING -> "Approval requested";
            case APPROVED -> "Approved";
            case DENIED -> "Denied";
            case EXPIRED -> "Expired";
            case CANCELLED -> "Cancelled";
            case REVOKED -> "Revoked";
            case EXECUTED -> "Approved and executed";
            case FAILED -> "Approved; execution failed";
        };
        return state + ": " + line(r.action().action().type(), 100);
    }

    private static List<ObjectNode> requester(Request r) {
        Principal p = r.requester();
        ActionRequest a = r.action();
        Resource res = a.resource();
        String tags = res.tags().stream().map(t -> line(t, 64)).collect(Collectors.joining(", "));
        String resource = line(res.type(), 64) + " " + line(res.id(), 300)
                + (res.domain() == null || res.domain().isBlank() ? "" : " (domain " + line(res.domain(), 128) + ")");
        return List.of(
                plain((p.kind() == PrincipalKind.AGENT ? "Agent: " : "Service: ") + line(p.id(), 128)),
                plain("Owner: " + line(p.owner(), 128)),
                plain("On behalf of: " + line(a.onBehalfOf(), 128)),
                plain("Model: " + line(p.model(), 128)),
                plain("Action: " + line(a.action().type(), 128)),
                plain("Resource: " + resource),
                plain("Env: " + line(res.env(), 64)),
                plain("Tags: " + SlackText.cut(tags.isEmpty() ? SlackText.NONE : tags, 500)));
    }

    private static List<ObjectNode> policy(Request r) {
        String rules = SlackText.cut(String.join(", ", r.decision().matchedRules()), 500);
        boolean reason = r.decision() instanceof Decision.RequireApproval ask && ask.reasonRequired();
        String needs = Approvals.requirement(r) + (reason ? ", each with a reason" : "");
        String approved = approvers(r);
        ObjectNode digest = markdown("*Digest*\n`" + r.digest().substring(0, DIGEST_SHOWN) + "`");
        ObjectNode rulesField = markdown("*Rules matched*\n" + SlackText.escape(rules.isEmpty() ? "none" : rules));
        ObjectNode needsField = markdown("*Needs*\n" + SlackText.escape(needs.isEmpty() ? "no approval" : needs));
        ObjectNode soFar =
                markdown("*Approved so far*\n" + SlackText.escape(approved.isEmpty() ? "no one yet" : approved));
        if (r.expiresAt() == null) return List.of(rulesField, needsField, soFar, digest);
        return List.of(rulesField, needsField, soFar, digest, markdown("*Expires*\n" + date(r.expiresAt())));
    }

    private static String date(Instant at) {
        return "<!date^" + at.getEpochSecond() + "^{date_short_pretty} {time}|" + UTC.format(at) + ">";
    }

    private static ObjectNode buttons(Request r) {
        ObjectNode actions =
                Json.mapper().createObjectNode().put("type", "actions").put("block_id", ACTIONS);
        ArrayNode elements = actions.putArray("elements");
        String value = r.id().value() + " " + r.digest();
        elements.add(button(APPROVE, "Approve", "primary", value));
        elements.add(button(DENY, "Deny", "danger", value));
        return actions;
    }

    private static ObjectNode button(String id, String label, String style, String value) {
        ObjectNode b = Json.mapper().createObjectNode().put("type", "button").put("action_id", id);
        b.set("text", plain(label));
        return b.put("style", style).put("value", value);
    }

    /** Who decided, and how: from the request's reviews and its last transition in the ledger. */
    static String outcome(Request r, List<LedgerEvent> events) {
        Optional<LedgerEvent> last =
                events.stream().filter(e -> TRANSITIONS.contains(e.type())).reduce((a, b) -> b);
        String actor = last.map(LedgerEvent::actor).orElse("system");
        String why = last.map(e -> e.detail().path("reason").asText("")).orElse("");
        String approvedBy = "Approved by " + approvers(r) + ".";
        return switch (r.state()) {
            case PENDING -> "Waiting for review.";
            case APPROVED -> r.reviews().isEmpty() ? "Allowed by policy." : approvedBy;
            case DENIED -> "Denied by " + denier(r, actor) + because(denyReason(r, why));
            case EXPIRED ->
                r.grant() == null
                        ? "Expired: no decision was made by " + UTC.format(r.expiresAt()) + "."
                        : approvedBy + " The grant expired unused.";
            case CANCELLED -> "Cancelled by " + line(actor, 128) + ".";
            case REVOKED -> approvedBy + " Revoked by " + line(actor, 128) + because(why);
            case EXECUTED -> approvedBy + " The action ran.";
            case FAILED -> approvedBy + " The action failed.";
        };
    }

    private static String approvers(Request r) {
        return r.reviews().stream()
                .filter(v -> v.verdict() == Verdict.APPROVE)
                .map(v -> line(v.reviewer(), 128))
                .collect(Collectors.joining(", "));
    }

    private static String denier(Request r, String actor) {
        return line(
                r.reviews().stream()
                        .filter(v -> v.verdict() == Verdict.DENY)
                        .map(Review::reviewer)
                        .findFirst()
                        .orElse(actor),
                128);
    }

    private static String denyReason(Request r, String fallback) {
        return r.reviews().stream()
                .filter(v -> v.verdict() == Verdict.DENY)
                .map(Review::reason)
                .findFirst()
                .orElse(fallback);
    }

    private static String because(String reason) {
        return reason == null || reason.isBlank() ? "." : ": " + line(reason, 500);
    }

    private static ObjectNode fields(List<ObjectNode> fields) {
        ObjectNode s = Json.mapper().createObjectNode().put("type", "section");
        fields.forEach(s.putArray("fields")::add);
        return s;
    }

    private static ObjectNode section(ObjectNode text) {
        ObjectNode s = Json.mapper().createObjectNode().put("type", "section");
        s.set("text", text);
        return s;
    }

    private static ObjectNode context(String text) {
        ObjectNode c = Json.mapper().createObjectNode().put("type", "context");
        c.putArray("elements").add(plain(text));
        return c;
    }
}
