package io.countersign.server.channels;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.Json;

/**
 * Text made safe to show in Slack. Whatever an agent supplied (ids, resource, tags, justification)
 * goes into {@code plain_text} objects with emoji codes off, on one line, without control or
 * invisible formatting characters (bidi overrides, zero-width joiners), cut to a length: so that no
 * request can draw a fake "Approved" line, a mention, a link or a button label into the message.
 * A message's top-level text (the notification, and what screen readers read) holds agent-supplied
 * values too, so it is sent with {@code "mrkdwn": false}: their {@code *}, {@code _}, {@code ~} and
 * backticks show as typed rather than as bold, italic, struck or code. What does go into mrkdwn has
 * {@code &}, {@code <} and {@code >} escaped, as Slack asks.
 */
final class SlackText {
    static final String NONE = "—";

    private SlackText() {}

    /** {@code s} on one line, without control or format characters, at most {@code max} code points. */
    static String line(String s, int max) {
        if (s == null || s.isBlank()) return NONE;
        StringBuilder out = new StringBuilder();
        boolean space = false;
        for (int cp : s.strip().codePoints().toArray()) {
            if (Character.isWhitespace(cp) || Character.isISOControl(cp) || Character.isSpaceChar(cp)) {
                space = true;
            } else if (Character.getType(cp) != Character.FORMAT) {
                if (space && !out.isEmpty()) out.append(' ');
                space = false;
                out.appendCodePoint(cp);
            }
        }
        return out.isEmpty() ? NONE : cut(out.toString(), max);
    }

    /** {@code s} cut to {@code max} code points, an ellipsis marking the cut. */
    static String cut(String s, int max) {
        if (s.codePointCount(0, s.length()) <= max) return s;
        return s.substring(0, s.offsetByCodePoints(0, max - 1)) + "…";
    }

    /** {@code s} escaped for mrkdwn: no link, mention or channel alert can be formed from it. */
    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    /**
     * A message whose top-level text is {@code text}, cut to {@code max} and shown as written
     * (chat.postMessage's {@code mrkdwn} argument); still escaped, as Slack asks of any text.
     */
    static ObjectNode message(String text, int max) {
        return Json.mapper()
                .createObjectNode()
                .put("text", escape(cut(text, max)))
                .put("mrkdwn", false);
    }

    /** A {@code plain_text} object, emoji codes shown as typed. */
    static ObjectNode plain(String text) {
        return Json.mapper()
                .createObjectNode()
                .put("type", "plain_text")
                .put("text", text.isEmpty() ? NONE : text)
                .put("emoji", false);
    }

    /** A {@code mrkdwn} object of text the server wrote itself (values in it already escaped). */
    static ObjectNode markdown(String text) {
        return Json.mapper()
                .createObjectNode()
                .put("type", "mrkdwn")
                .put("text", text)
                .put("verbatim", true);
    }
}
