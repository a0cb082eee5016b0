package io.countersign.server.channels;

import io.countersign.core.Decision;
import io.countersign.core.Principal;
import io.countersign.core.Request;
import io.countersign.core.Review;
import io.countersign.core.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What a reviewer is shown about a request, as labelled rows, in an email and on the review page
 * alike. Most values are the agent's own words: whoever renders them escapes them for their medium.
 */
final class ReviewPageFacts {
    /** Line breaks (CR, LF, NEL, U+2028/9) and every other control or format character. */
    private static final Pattern UNPRINTABLE = Pattern.compile("[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}]+");

    static final int DIGEST_PREFIX = 16;
    private static final int MAX_JSON = 8_000;

    private ReviewPageFacts() {}

    /** How a value is laid out. */
    enum Shape {
        /** One line. */
        LINE,
        /** Prose whose line breaks are kept (a justification). */
        TEXT,
        /** Pretty-printed JSON, in a monospaced font. */
        CODE
    }

    /** One labelled value. */
    record Row(String label, String value, Shape shape) {
        boolean multiline() {
            return shape != Shape.LINE;
        }
    }

    /** The rows an email shows: no parameters or context (they stay behind the link). */
    static List<Row> summary(Request r) {
        return rows(r, false);
    }

    /** The rows the review page shows: everything, parameters and context too, and the full digest. */
    static List<Row> full(Request r) {
        return rows(r, true);
    }

    private static List<Row> rows(Request r, boolean full) {
        List<Row> out = new ArrayList<>();
        Principal agent = r.requester();
        out.add(row("Requested by", requester(agent)));
        if (r.action().onBehalfOf() != null)
            out.add(row("On behalf of", r.action().onBehalfOf()));
        if (agent.model() != null) out.add(row("Model", agent.model()));
        if (agent.riskTier() != null) out.add(row("Risk tier", agent.riskTier()));
        out.add(row("Action", r.action().action().type()));
        if (full) out.add(new Row("Parameters", json(r.action().action().params()), Shape.CODE));
        out.add(row("Resource", resource(r)));
        if (!r.action().resource().tags().isEmpty())
            out.add(row("Tags", String.join(", ", r.action().resource().tags())));
        if (!r.action().resource().domain().isEmpty())
            out.add(row("Data domain", r.action().resource().domain()));
        String why = r.action().justification();
        out.add(new Row("Justification", why.isBlank() ? "(none given)" : why, Shape.TEXT));
        if (full && !r.action().context().isEmpty())
            out.add(new Row("Context", json(r.action().context()), Shape.CODE));
        out.add(row("Matched rules", String.join(", ", r.decision().matchedRules())));
        out.add(row("Needs", needs(r)));
        out.add(row("Approved so far", approvedSoFar(r)));
        out.add(row("Digest", full ? r.digest() : r.digest().substring(0, DIGEST_PREFIX) + "…"));
        if (r.expiresAt() != null) out.add(row("Expires", r.expiresAt().toString()));
        return List.copyOf(out);
    }

    private static Row row(String label, String value) {
        return new Row(label, oneLine(value, 1024), Shape.LINE);
    }

    private static String requester(Principal p) {
        String kind = p.kind().wire();
        return p.owner() == null ? p.id() + " (" + kind + ")" : p.id() + " (" + kind + ", owned by " + p.owner() + ")";
    }

    /** "table customers in prod". */
    static String resource(Request r) {
        var res = r.action().resource();
        return res.type() + " " + res.id() + (res.env().isEmpty() ? "" : " in " + res.env());
    }

    static String needs(Request r) {
        boolean reason = r.decision() instanceof Decision.RequireApproval ask && ask.reasonRequired();
        return Approvals.requirement(r) + (reason ? "; approvals need a reason" : "");
    }

    private static String approvedSoFar(Request r) {
        List<Review> yes =
                r.reviews().stream().filter(v -> v.verdict() == Verdict.APPROVE).toList();
        if (yes.isEmpty()) return "no one yet";
        return yes.stream().map(v -> v.reviewer() + " (" + v.channel() + ")").collect(Collectors.joining(", "));
    }

    private static String json(com.fasterxml.jackson.databind.JsonNode node) {
        String s = node.toPrettyString();
        return s.length() <= MAX_JSON ? s : s.substring(0, MAX_JSON) + "\n… (cut at " + MAX_JSON + " characters)";
    }

    /**
     * {@code s} on one line of at most {@code max} characters: line breaks and control characters
     * become spaces, so that agent-supplied text can never start a new mail header or a new line.
     */
    static String oneLine(String s, int max) {
        String flat = UNPRINTABLE.matcher(s).replaceAll(" ").strip();
        if (flat.length() <= max) return flat;
        int end = Character.isHighSurrogate(flat.charAt(max - 2)) ? max - 2 : max - 1;
        return flat.substring(0, end) + "…";
    }

    /** Keeps line breaks (as LF) and tabs; drops every other control or format character. */
    static String multiline(String s) {
        return s.replace("\r\n", "\n")
                .replaceAll("[\\r\\u0085\\p{Zl}\\p{Zp}]", "\n")
                .replaceAll("[\\p{Cc}\\p{Cf}&&[^\\n\\t]]", "");
    }
}
