package io.countersign.server.console;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;

/**
 * The console's sign-in pages: small, self-contained HTML (no script, inline style only), sent with
 * headers that keep them out of caches, frames and referrers: {@code Cache-Control: no-store},
 * {@code Referrer-Policy: no-referrer} (a review link in the address bar must not leak),
 * {@code X-Frame-Options: DENY} and a Content-Security-Policy that allows forms to post only here.
 */
final class Pages {
    static final String CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
            + " frame-ancestors 'none'; base-uri 'none'";
    private static final String STYLE = "body{font:15px/1.5 system-ui,sans-serif;max-width:34em;margin:3em auto;"
            + "padding:0 1em;color:#222}input[type=password]{width:100%;padding:.4em;box-sizing:border-box}"
            + "button{padding:.4em 1.2em;margin-top:.8em}.err{color:#a40000}";

    private Pages() {}

    /** The headers every console page and redirect carries. */
    static void secure(ServerResponse res) {
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.header(HeaderNames.create("Referrer-Policy"), "no-referrer");
        res.header(HeaderNames.create("X-Frame-Options"), "DENY");
        res.header(HeaderNames.create("X-Content-Type-Options"), "nosniff");
        res.header(HeaderNames.create("Content-Security-Policy"), CSP);
    }

    /** An HTML page; {@code body} is already escaped HTML. */
    static void send(ServerResponse res, int status, String title, String body) {
        secure(res);
        res.status(Status.create(status));
        res.header(HeaderNames.CONTENT_TYPE, "text/html; charset=utf-8");
        String html = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                + "<meta name=\"viewport\" content=\"width=device-width\"><title>" + escape(title)
                + " · Countersign</title><style>" + STYLE + "</style></head><body><h1>" + escape(title) + "</h1>"
                + body + "</body></html>";
        res.send(html.getBytes(StandardCharsets.UTF_8));
    }

    /** A 303 to {@code location}, an absolute URL of this server or of the identity provider. */
    static void redirect(ServerResponse res, String location) {
        secure(res);
        res.status(Status.SEE_OTHER_303);
        res.header(HeaderNames.LOCATION, location);
        res.send();
    }

    /** The API-key form: for the demo and for servers without an identity provider for the console. */
    static String keyForm(String action, ReturnPath returnTo, String error, String csrf) {
        return (error == null ? "" : "<p class=\"err\">" + escape(error) + "</p>")
                + "<p>Sign in with your Countersign API key to review requests.</p>"
                + "<form method=\"post\" action=\"" + escape(action) + "\">"
                + hidden(ConsoleLogin.CSRF, csrf)
                + hidden("return", returnTo.value())
                + "<label>API key<br><input type=\"password\" name=\"api_key\" autocomplete=\"off\" required"
                + " autofocus></label><br><button type=\"submit\">Sign in</button></form>";
    }

    /** Who is signed in, and a way out. */
    static String signedIn(String who, String logoutAction, String csrf) {
        return "<p>You are signed in as <b>" + escape(who) + "</b>.</p>"
                + "<form method=\"post\" action=\"" + escape(logoutAction) + "\">"
                + hidden(ConsoleLogin.CSRF, csrf)
                + "<button type=\"submit\">Sign out</button></form>";
    }

    private static String hidden(String name, String value) {
        return "<input type=\"hidden\" name=\"" + escape(name) + "\" value=\"" + escape(value) + "\">";
    }

    /** Why a sign-in failed, and a link to start again. */
    static String failed(String message, String again) {
        return "<p class=\"err\">" + escape(message) + "</p><p><a href=\"" + escape(again) + "\">Sign in again</a></p>";
    }

    static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
