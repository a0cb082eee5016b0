package io.countersign.server.console;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.CookieManager;
import java.net.CookiePolicy;
import java.net.HttpCookie;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A browser as far as sign-in needs one: a cookie jar, redirects followed one at a time (so a test
 * can read or change each hop), and forms posted with the {@code Origin} a browser would send.
 */
public final class Browser {
    private static final Pattern HREF = Pattern.compile("href=\"([^\"]+)\"");
    private static final Pattern HIDDEN =
            Pattern.compile("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">");
    private static final Pattern ACTION = Pattern.compile("<form method=\"post\"(?: action=\"([^\"]+)\")?>");
    private final CookieManager jar = new CookieManager(null, CookiePolicy.ACCEPT_ALL);
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER)
            .cookieHandler(jar)
            .build();

    public Page get(String url) {
        return send(HttpRequest.newBuilder(URI.create(url)).GET());
    }

    /** Posts {@code form} as a page of the target's own origin would. */
    public Page post(String url, Map<String, String> form) {
        return post(url, form, origin(URI.create(url)));
    }

    public Page post(String url, Map<String, String> form, String origin) {
        StringJoiner body = new StringJoiner("&");
        form.forEach((k, v) -> body.add(enc(k) + "=" + enc(v)));
        return send(HttpRequest.newBuilder(URI.create(url))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Origin", origin)
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
    }

    /**
     * Fills in and sends the page's form as a person would: its hidden fields (the form token among
     * them) and {@code fields}, posted to its action (else the page itself) from the page's origin.
     */
    public Page submit(Page page, Map<String, String> fields) {
        Matcher form = ACTION.matcher(page.body());
        if (!form.find()) throw new AssertionError("no form on " + page);
        String action = form.group(1) == null ? page.uri().toString() : unescape(form.group(1));
        Map<String, String> all = new java.util.LinkedHashMap<>(page.hidden());
        all.putAll(fields);
        return post(page.uri().resolve(action).toString(), all);
    }

    /** Follows the page's redirect. */
    public Page follow(Page p) {
        if (p.location() == null) throw new AssertionError("not a redirect: " + p);
        return get(p.uri().resolve(p.location()).toString());
    }

    /** The value of cookie {@code name} the browser holds for {@code url}, if any. */
    public Optional<String> cookie(String url, String name) {
        return jar.getCookieStore().get(URI.create(url)).stream()
                .filter(c -> c.getName().equals(name))
                .map(HttpCookie::getValue)
                .findFirst();
    }

    /** Puts a cookie in the jar by hand (an attacker's, or another browser's). */
    public void setCookie(String url, String name, String value) {
        HttpCookie c = new HttpCookie(name, value);
        c.setPath("/");
        c.setVersion(0);
        jar.getCookieStore().add(URI.create(url), c);
    }

    private Page send(HttpRequest.Builder req) {
        try {
            HttpRequest built = req.build();
            HttpResponse<String> r = http.send(built, HttpResponse.BodyHandlers.ofString());
            return new Page(r.statusCode(), r.headers(), r.body(), built.uri());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String origin(URI u) {
        return u.getScheme() + "://" + u.getHost() + (u.getPort() < 0 ? "" : ":" + u.getPort());
    }

    private static String unescape(String s) {
        return s.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** One response. */
    public record Page(int status, HttpHeaders headers, String body, URI uri) {
        public String location() {
            return headers.firstValue("Location").orElse(null);
        }

        public String header(String name) {
            return headers.firstValue(name).orElse(null);
        }

        public List<String> setCookies() {
            return headers.allValues("Set-Cookie");
        }

        /** The page's hidden form fields, unescaped. */
        public Map<String, String> hidden() {
            Map<String, String> out = new java.util.LinkedHashMap<>();
            Matcher m = HIDDEN.matcher(body);
            while (m.find()) out.put(m.group(1), unescape(m.group(2)));
            return out;
        }

        /** The first link on the page whose target contains {@code part}, unescaped. */
        public String link(String part) {
            Matcher m = HREF.matcher(body);
            while (m.find()) {
                String href = m.group(1).replace("&amp;", "&");
                if (href.contains(part)) return href;
            }
            throw new AssertionError("no link with " + part + " in " + body);
        }

        @Override
        public String toString() {
            return status + " " + uri + " -> " + location() + "\n" + body;
        }
    }
}
