package io.countersign.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Readable renderings of API responses. */
final class Text {
    private Text() {}

    static String request(JsonNode r) {
        StringBuilder out = new StringBuilder();
        JsonNode res = r.path("resource");
        out.append(r.path("id").asText())
                .append("  ")
                .append(r.path("state").asText().toUpperCase())
                .append('\n');
        out.append("  action:    ")
                .append(r.path("action").path("type").asText())
                .append(' ')
                .append(r.path("action").path("params").toString())
                .append('\n');
        out.append("  resource:  ")
                .append(res.path("type").asText())
                .append('/')
                .append(res.path("id").asText())
                .append(
                        res.path("env").asText().isEmpty()
                                ? ""
                                : " env=" + res.path("env").asText())
                .append(res.path("tags").isEmpty() ? "" : " tags=" + join(res.path("tags")))
                .append('\n');
        JsonNode who = r.path("requester");
        out.append("  requester: ")
                .append(who.path("id").asText())
                .append(" (")
                .append(who.path("kind").asText())
                .append(who.has("owner") ? ", owner " + who.path("owner").asText() : "")
                .append(
                        r.has("on_behalf_of")
                                ? ", on behalf of " + r.path("on_behalf_of").asText()
                                : "")
                .append(")\n");
        if (!r.path("justification").asText().isEmpty())
            out.append("  why:       ").append(r.path("justification").asText()).append('\n');
        out.append("  decision:  ").append(decision(r.path("decision"))).append('\n');
        out.append("  digest:    ").append(r.path("digest").asText()).append('\n');
        if (r.has("expires_at") && r.path("state").asText().equals("pending")) {
            out.append("  expires:   ").append(r.path("expires_at").asText()).append('\n');
        }
        for (JsonNode v : r.path("reviews")) {
            out.append("  review:    ")
                    .append(v.path("reviewer").asText())
                    .append(' ')
                    .append(v.path("verdict").asText())
                    .append(
                            v.path("reason").asText().isEmpty()
                                    ? ""
                                    : " \"" + v.path("reason").asText() + "\"")
                    .append(" via ")
                    .append(v.path("channel").asText())
                    .append('\n');
        }
        if (r.has("grant")) {
            JsonNode g = r.path("grant");
            out.append("  grant:     ")
                    .append(g.path("id").asText())
                    .append(" expires ")
                    .append(g.path("expires_at").asText())
                    .append(
                            g.has("redeemed_at")
                                    ? ", redeemed " + g.path("redeemed_at").asText()
                                    : ", unused")
                    .append('\n');
        }
        if (r.has("outcome")) {
            out.append("  outcome:   ")
                    .append(r.path("outcome").path("status").asText())
                    .append(' ')
                    .append(r.path("outcome").path("detail").asText())
                    .append('\n');
        }
        return out.toString().stripTrailing();
    }

    static String decision(JsonNode d) {
        String outcome = d.path("outcome").asText();
        String rules = join(d.path("matched_rules"));
        return switch (outcome) {
            case "deny" -> "deny (" + rules + "): " + d.path("reason").asText();
            case "require_approval" -> {
                List<String> needs = new ArrayList<>();
                for (JsonNode a : d.path("approvals")) {
                    List<String> pool = new ArrayList<>();
                    a.path("groups").forEach(g -> pool.add("group " + g.asText()));
                    a.path("users").forEach(u -> pool.add(u.asText()));
                    needs.add(a.path("count").asInt() + " of " + String.join(" or ", pool));
                }
                yield "require_approval (" + rules + "): " + String.join(" and ", needs)
                        + (d.path("reason_required").asBoolean() ? "; reason required" : "");
            }
            default -> outcome + " (" + rules + ")";
        };
    }

    static String list(JsonNode body) {
        JsonNode items = body.path("requests");
        if (items.isEmpty()) return "(no requests)";
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode r : items) {
            rows.add(List.of(
                    r.path("id").asText(),
                    r.path("state").asText(),
                    r.path("action").path("type").asText(),
                    r.path("resource").path("type").asText() + "/"
                            + r.path("resource").path("id").asText(),
                    "by " + r.path("requester").path("id").asText()));
        }
        return table(rows);
    }

    /** A request's events, one a line: when, what, who, and what the event says in brief. */
    static String events(JsonNode body) {
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode e : body.path("events")) {
            rows.add(List.of(
                    e.path("at").asText(),
                    e.path("type").asText(),
                    e.path("actor").asText(),
                    eventDetail(e)));
        }
        return table(rows);
    }

    private static String eventDetail(JsonNode e) {
        String result = text(e, "result_sha256");
        return switch (e.path("type").asText()) {
            case "review.refused", "grant.redeem_refused" ->
                words(text(e, "refusal"), quoted(shorten(text(e, "message"), 100)));
            case "review.recorded" -> words(text(e, "verdict"), quoted(text(e, "reason")));
            case "request.executed", "request.failed" ->
                words(result.isEmpty() ? "" : "result " + shorten(result, 15), quoted(text(e, "detail")));
            default -> "";
        };
    }

    /**
     * Rows as columns two spaces apart, each as wide as its widest cell, so that a long cell (a
     * resource name) widens its column instead of shifting the rest of its line; no line ends in spaces.
     */
    private static String table(List<List<String>> rows) {
        int[] widths = new int[rows.stream().mapToInt(List::size).max().orElse(0)];
        for (List<String> row : rows) {
            for (int c = 0; c < row.size(); c++)
                widths[c] = Math.max(widths[c], row.get(c).length());
        }
        StringBuilder out = new StringBuilder();
        for (List<String> row : rows) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < row.size(); c++) {
                line.append(row.get(c)).append(" ".repeat(widths[c] - row.get(c).length() + 2));
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        return out.toString().stripTrailing();
    }

    /** A text field of {@code node}, empty when missing or null. */
    private static String text(JsonNode node, String field) {
        return node.path(field).isTextual() ? node.path(field).asText() : "";
    }

    private static String words(String... parts) {
        return String.join(" ", Arrays.stream(parts).filter(p -> !p.isEmpty()).toList());
    }

    private static String quoted(String s) {
        return s.isEmpty() ? "" : "\"" + s + "\"";
    }

    private static String shorten(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 3) + "...";
    }

    static String join(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return String.join(",", out);
    }
}
