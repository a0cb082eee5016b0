package io.countersign.server.channels;

import io.countersign.core.Request;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One approval email: a subject, a plain-text part and an HTML part, all showing the same facts and
 * the one review link. The agent's words are flattened to one line in the subject (no header
 * injection) and escaped in the HTML (no markup injection). URLs in them are defanged ({@code
 * hxxps://evil[.]example}, {@code www[.]evil[.]example}) in every part, since mail clients make any
 * URL in a message clickable: the review link is the message's only link.
 *
 * @param subject the subject line, one line of at most {@link #MAX_SUBJECT} characters
 * @param text the plain-text part
 * @param html the HTML part
 */
record EmailMessage(String subject, String text, String html) {
    static final int MAX_SUBJECT = 160;
    /** A scheme and {@code //} with the host after it, or a host that starts with {@code www.}. */
    private static final Pattern URL =
            Pattern.compile("(?i)\\b(?:([a-z][a-z0-9+.-]{0,31}):[/\\\\]{2}|(?=www\\.))([^\\s/\\\\?#<>\"'`]*)");

    private static final String CELL = " style=\"text-align:left;vertical-align:top;padding:4px 12px 4px 0;\"";
    private static final String BUTTON = " style=\"display:inline-block;background:#1f7a3a;color:#ffffff;"
            + "padding:10px 22px;border-radius:6px;text-decoration:none;font-weight:600;\"";

    /** The email asking {@code approver} to review {@code r} through {@code link}. */
    static EmailMessage of(Request r, String approver, String link) {
        List<ReviewPageFacts.Row> rows = ReviewPageFacts.summary(r).stream()
                .map(row -> new ReviewPageFacts.Row(row.label(), defang(row.value()), row.shape()))
                .toList();
        return new EmailMessage(subject(r), text(r, approver, link, rows), html(r, approver, link, rows));
    }

    /** "Approval needed: db.export on customers (prod)". */
    static String subject(Request r) {
        var res = r.action().resource();
        String on = ReviewPageFacts.oneLine(res.id(), 80);
        String env = res.env().isEmpty() ? "" : " (" + ReviewPageFacts.oneLine(res.env(), 32) + ")";
        return ReviewPageFacts.oneLine(
                defang("Approval needed: " + r.action().action().type() + " on " + on + env), MAX_SUBJECT);
    }

    private static String headline(Request r) {
        return defang(r.requester().id() + " asks for approval: "
                + r.action().action().type() + " on " + ReviewPageFacts.oneLine(ReviewPageFacts.resource(r), 200)
                + ".");
    }

    /**
     * {@code s} with every URL made unclickable: {@code http} and {@code https} become {@code hxxp}
     * and {@code hxxps}, any other scheme loses its colon ({@code ftp[:]//}), and the dots of the host
     * become {@code [.]}, so that neither the scheme nor the host is recognised as a link.
     */
    static String defang(String s) {
        Matcher m = URL.matcher(s);
        StringBuilder out = new StringBuilder(s.length() + 16);
        while (m.find()) {
            String scheme = m.group(1);
            String front = scheme == null
                    ? ""
                    : scheme.toLowerCase(java.util.Locale.ROOT).matches("https?")
                            ? scheme.replaceFirst("(?i)tt", "xx") + "://"
                            : scheme + "[:]//";
            m.appendReplacement(out, Matcher.quoteReplacement(front + m.group(2).replace(".", "[.]")));
        }
        return m.appendTail(out).toString();
    }

    private static String footnote(Request r, String approver) {
        return "Opening the link changes nothing: the page it opens shows the whole request, and only "
                + "its Approve or Deny button records your review. The link is for " + approver
                + " alone, works once, and expires at " + r.expiresAt() + ". Do not forward it.";
    }

    private static String text(Request r, String approver, String link, List<ReviewPageFacts.Row> rows) {
        StringBuilder sb = new StringBuilder("Hello ").append(approver).append(",\n\n");
        sb.append(headline(r)).append("\n\n");
        for (ReviewPageFacts.Row row : rows) {
            if (row.multiline()) {
                sb.append(row.label()).append(":\n");
                ReviewPageFacts.multiline(row.value())
                        .lines()
                        .forEach(l -> sb.append("    ").append(l).append('\n'));
            } else {
                sb.append(String.format("%-16s %s\n", row.label() + ":", row.value()));
            }
        }
        sb.append("\nReview it here:\n").append(link).append("\n\n");
        return sb.append(footnote(r, approver)).append("\n\n-- \nCountersign\n").toString();
    }

    private static String html(Request r, String approver, String link, List<ReviewPageFacts.Row> rows) {
        String body = "<p>Hello " + ReviewPageHtml.escape(approver) + ",</p>\n"
                + "<p>" + ReviewPageHtml.escape(headline(r)) + "</p>\n"
                + ReviewPageHtml.table(rows, CELL)
                + "<p><a href=\"" + ReviewPageHtml.escape(link) + "\"" + BUTTON + ">Review this request</a></p>\n"
                + "<p style=\"color:#57606a;font-size:13px;\">" + ReviewPageHtml.escape(footnote(r, approver))
                + "</p>\n";
        return ReviewPageHtml.email(subject(r), body);
    }
}
