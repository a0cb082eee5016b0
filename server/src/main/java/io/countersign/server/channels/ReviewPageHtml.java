package io.countersign.server.channels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * HTML for the review page and for emails. Every value put into a template goes through {@link
 * #escape}; the templates themselves ({@code review-page.html}, {@code email.html} beside this
 * class) hold only fixed markup.
 */
final class ReviewPageHtml {
    private static final String PAGE = template("review-page.html");
    private static final String EMAIL = template("email.html");

    private ReviewPageHtml() {}

    /** A whole review page: {@code title} is text, {@code body} is markup built here. */
    static String page(String title, String body) {
        return fill(PAGE, title, body);
    }

    /** A whole HTML email. */
    static String email(String title, String body) {
        return fill(EMAIL, title, body);
    }

    /** One pass over the template, so that a value containing "{{body}}" stays text. */
    private static String fill(String template, String title, String body) {
        Map<String, String> values = Map.of("title", escape(title), "body", body);
        StringBuilder sb = new StringBuilder(template.length() + body.length());
        int at = 0;
        for (int open; (open = template.indexOf("{{", at)) >= 0; ) {
            int close = template.indexOf("}}", open);
            sb.append(template, at, open).append(values.get(template.substring(open + 2, close)));
            at = close + 2;
        }
        return sb.append(template, at, template.length()).toString();
    }

    private static final String TEXT = "<div style=\"white-space:pre-wrap;\">";
    private static final String CODE = "<pre style=\"margin:0;white-space:pre-wrap;word-break:break-word;"
            + "font:13px/1.4 ui-monospace,Menlo,Consolas,monospace;\">";

    /**
     * The rows as a two-column table with inline styles (mail clients drop style sheets); multi-line
     * values keep their lines.
     */
    static String table(List<ReviewPageFacts.Row> rows, String cellStyle) {
        StringBuilder sb = new StringBuilder("<table>\n");
        for (ReviewPageFacts.Row r : rows) {
            String value = switch (r.shape()) {
                case LINE -> escape(r.value());
                case TEXT -> TEXT + escape(ReviewPageFacts.multiline(r.value())) + "</div>";
                case CODE -> CODE + escape(ReviewPageFacts.multiline(r.value())) + "</pre>";
            };
            sb.append("<tr><th")
                    .append(cellStyle)
                    .append('>')
                    .append(escape(r.label()))
                    .append("</th><td");
            sb.append(cellStyle).append('>').append(value).append("</td></tr>\n");
        }
        return sb.append("</table>\n").toString();
    }

    /** A paragraph of text in a box: {@code kind} is {@code notice}, {@code problem} or {@code done}. */
    static String notice(String kind, String text) {
        return "<p class=\"notice " + kind + "\">" + escape(text) + "</p>\n";
    }

    /** Text safe in HTML element content and in quoted attribute values. */
    static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String template(String name) {
        try (InputStream in = ReviewPageHtml.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException(name + " is missing from the build");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + name, e);
        }
    }
}
