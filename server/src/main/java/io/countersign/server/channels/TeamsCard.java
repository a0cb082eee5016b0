package io.countersign.server.channels;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Principal;
import io.countersign.core.Request;
import io.countersign.core.Resource;
import io.countersign.core.Review;
import io.countersign.core.Verdict;
import io.countersign.core.json.Json;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The Adaptive Card (1.4) that asks a Teams channel to review a request, wrapped as the message a
 * Teams workflow or incoming webhook takes: the requester and its owner, on-behalf-of, model,
 * action, resource with env and tags, the justification, the rules that matched, the requirement and
 * who has approved so far, the digest prefix and the expiry; one button opens the review page.
 *
 * <p>Text that the agent wrote (resource, tags, justification, and anything from a token) must not
 * be able to change how the card looks or where it sends people. Teams renders a markdown subset in
 * TextBlocks and facts (bold, italics, lists, links), so every such value is made plain first:
 * control, format and bidirectional characters dropped, lines joined, URLs defanged ({@code
 * https[:]//}) so that they are not links, {@code {{}} broken up (card date functions), then cut to
 * size. In TextBlocks and facts markdown characters are then escaped; the justification goes in a
 * TextRun, which Teams does not read as markdown, so it needs no escapes.
 */
final class TeamsCard {
    static final int FACT_MAX = 200;
    static final int LIST_MAX = 300;
    static final int JUSTIFICATION_MAX = 1000;
    /** Emphasis, links, code, strike-through and HTML: what could make agent text look like ours. */
    private static final String MARKDOWN = "\\*_[]`~<>";

    private static final Pattern SCHEME = Pattern.compile("(?i)\\b([a-z][a-z0-9+.-]{0,31}):/{2}");
    private static final Pattern WWW = Pattern.compile("(?i)\\bwww\\.");
    private static final Pattern LIST_START = Pattern.compile("^(\\d+)\\.");
    private static final DateTimeFormatter WHEN =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'").withZone(ZoneOffset.UTC);

    private TeamsCard() {}

    /** The message to post: the card as the one attachment of a {@code message}. */
    static ObjectNode message(Request r, String reviewUrl) {
        ObjectNode msg = Json.mapper().createObjectNode().put("type", "message");
        ObjectNode attachment = msg.putArray("attachments").addObject();
        attachment.put("contentType", "application/vnd.microsoft.card.adaptive");
        attachment.putNull("contentUrl");
        attachment.set("content", card(r, reviewUrl));
        return msg;
    }

    static ObjectNode card(Request r, String reviewUrl) {
        ObjectNode card = Json.mapper()
                .createObjectNode()
                .put("type", "AdaptiveCard")
                .put("$schema", "http://adaptivecards.io/schemas/adaptive-card.json")
                .put("version", "1.4");
        card.putObject("msteams").put("width", "Full");
        ArrayNode body = card.putArray("body");
        text(body, "Approval needed: " + markdown(r.action().action().type(), FACT_MAX))
                .put("weight", "Bolder")
                .put("size", "Medium");
        text(body, "Countersign holds this action until the required people approve it.")
                .put("isSubtle", true)
                .put("spacing", "None");
        body.add(facts(r));
        justification(body, r.action().justification());
        ObjectNode review = card.putArray("actions").addObject();
        review.put("type", "Action.OpenUrl").put("title", "Review").put("url", reviewUrl);
        return card;
    }

    private static ObjectNode facts(Request r) {
        ObjectNode set = Json.mapper().createObjectNode().put("type", "FactSet");
        ArrayNode facts = set.putArray("facts");
        Principal agent = r.requester();
        Resource res = r.action().resource();
        fact(facts, "Agent", agent.id() + " (" + agent.kind().wire() + ")");
        if (agent.owner() != null) fact(facts, "Owner", agent.owner());
        if (r.action().onBehalfOf() != null)
            fact(facts, "On behalf of", r.action().onBehalfOf());
        if (agent.model() != null) fact(facts, "Model", agent.model());
        fact(facts, "Action", r.action().action().type());
        fact(facts, "Resource", res.type() + " " + res.id());
        if (!res.env().isEmpty()) fact(facts, "Environment", res.env());
        if (!res.tags().isEmpty()) fact(facts, "Tags", list(res.tags()));
        if (!res.domain().isEmpty()) fact(facts, "Domain", res.domain());
        fact(facts, "Rules matched", list(r.decision().matchedRules()));
        fact(facts, "Requires", Approvals.requirement(r));
        fact(facts, "Approved so far", approvers(r));
        fact(facts, "Digest", r.digest().substring(0, Math.min(12, r.digest().length())));
        if (r.expiresAt() != null) fact(facts, "Expires", WHEN.format(r.expiresAt()));
        fact(facts, "Request", r.id().value());
        return set;
    }

    private static void justification(ArrayNode body, String justification) {
        String text = plain(justification, JUSTIFICATION_MAX);
        text(body, "Justification").put("weight", "Bolder");
        ObjectNode block = body.addObject().put("type", "RichTextBlock").put("spacing", "None");
        block.putArray("inlines")
                .addObject()
                .put("type", "TextRun")
                .put("text", text.isEmpty() ? "(none given)" : text)
                .put("italic", text.isEmpty());
    }

    private static String approvers(Request r) {
        List<String> ids = r.reviews().stream()
                .filter(v -> v.verdict() == Verdict.APPROVE)
                .map(Review::reviewer)
                .toList();
        return ids.isEmpty() ? "nobody yet" : list(ids);
    }

    private static String list(List<String> items) {
        return String.join(", ", items.stream().limit(20).toList()) + (items.size() > 20 ? ", ..." : "");
    }

    private static ObjectNode text(ArrayNode body, String markdown) {
        return body.addObject().put("type", "TextBlock").put("text", markdown).put("wrap", true);
    }

    private static void fact(ArrayNode facts, String title, String value) {
        int max = title.equals("Tags") || title.equals("Rules matched") ? LIST_MAX : FACT_MAX;
        facts.addObject().put("title", title).put("value", markdown(value, max));
    }

    /** {@code raw} made plain, then with every markdown character escaped, for TextBlocks and facts. */
    static String markdown(String raw, int max) {
        String s = plain(raw, max);
        StringBuilder out = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (MARKDOWN.indexOf(c) >= 0 || (i == 0 && (c == '-' || c == '+'))) out.append('\\');
            out.append(c);
        }
        return LIST_START.matcher(out).replaceFirst("$1\\\\.");
    }

    /**
     * {@code raw} on one line without control, format or bidirectional characters, its URLs not
     * links and its card functions broken, at most {@code max} characters.
     */
    static String plain(String raw, int max) {
        if (raw == null) return "";
        StringBuilder sb = new StringBuilder(Math.min(raw.length(), max * 2));
        raw.codePoints().limit(max * 4L).forEach(cp -> {
            int type = Character.getType(cp);
            if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) sb.append(' ');
            else if (type != Character.CONTROL
                    && type != Character.FORMAT
                    && type != Character.PRIVATE_USE
                    && type != Character.SURROGATE
                    && type != Character.UNASSIGNED) sb.appendCodePoint(cp);
        });
        String s = sb.toString().replaceAll(" {2,}", " ").strip();
        s = SCHEME.matcher(s).replaceAll("$1[:]//");
        s = WWW.matcher(s).replaceAll("www[.]");
        while (s.contains("{{")) s = s.replace("{{", "{ {");
        return cut(s, max);
    }

    private static String cut(String s, int max) {
        if (s.codePointCount(0, s.length()) <= max) return s;
        return s.substring(0, s.offsetByCodePoints(0, max - 1)) + "\u2026";
    }
}
