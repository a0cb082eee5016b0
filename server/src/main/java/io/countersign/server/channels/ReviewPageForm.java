package io.countersign.server.channels;

import io.countersign.core.Verdict;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * What the review page's form posts ({@code application/x-www-form-urlencoded}: {@code verdict},
 * {@code reason} and the hidden {@code csrf}), read with a size cap.
 *
 * @param verdict approve or deny
 * @param reason the reviewer's reason, stripped; empty when none was given
 * @param csrf the form token the page carried ({@link ReviewLinks#formToken}); empty when none was sent
 */
record ReviewPageForm(Verdict verdict, String reason, String csrf) {
    static final String CSRF = "csrf";
    static final int MAX_BYTES = 16 * 1024;
    static final int MAX_REASON = 2_000;
    private static final String TYPE = "application/x-www-form-urlencoded";

    /** A form that cannot be read; {@code status} is the HTTP status to answer with. */
    static final class Unreadable extends RuntimeException {
        final int status;

        Unreadable(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    static ReviewPageForm read(ServerRequest req) {
        String type = req.headers().first(HeaderNames.CONTENT_TYPE).orElse("");
        if (!type.toLowerCase(Locale.ROOT).startsWith(TYPE))
            throw new Unreadable(415, "the review form is sent as " + TYPE);
        if (req.headers().contentLength().orElse(0) > MAX_BYTES) throw tooLarge();
        return parse(new String(bytes(req), StandardCharsets.UTF_8));
    }

    private static byte[] bytes(ServerRequest req) {
        if (!req.content().hasEntity()) return new byte[0];
        try (InputStream in = req.content().inputStream()) {
            byte[] b = in.readNBytes(MAX_BYTES + 1);
            if (b.length > MAX_BYTES) throw tooLarge();
            return b;
        } catch (IOException e) {
            throw new Unreadable(400, "the form could not be read");
        }
    }

    static ReviewPageForm parse(String body) {
        String verdict = null;
        String reason = null;
        String csrf = null;
        for (String pair : body.split("&")) {
            int eq = pair.indexOf('=');
            String name = decode(eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
            if (name.equals("verdict") && verdict == null) verdict = value;
            if (name.equals("reason") && reason == null) reason = value;
            if (name.equals(CSRF) && csrf == null) csrf = value;
        }
        return new ReviewPageForm(verdict(verdict), reason(reason), csrf == null ? "" : csrf);
    }

    private static Verdict verdict(String v) {
        if (v == null) throw new Unreadable(400, "choose Approve or Deny");
        try {
            return Verdict.fromWire(v);
        } catch (IllegalArgumentException e) {
            throw new Unreadable(400, "the verdict must be approve or deny");
        }
    }

    private static String reason(String r) {
        String s = r == null ? "" : r.strip();
        if (s.length() > MAX_REASON) throw new Unreadable(422, "a reason has at most " + MAX_REASON + " characters");
        return s;
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new Unreadable(400, "the form is not validly encoded");
        }
    }

    private static Unreadable tooLarge() {
        return new Unreadable(413, "the review form is limited to " + MAX_BYTES + " bytes");
    }
}
