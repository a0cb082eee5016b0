package io.countersign.server.console;

import java.util.regex.Pattern;

/**
 * Where a browser goes back to after signing in: a path on this server, never another site. Only an
 * absolute path is accepted ({@code /review/...}): no scheme, no host, no {@code //} or backslash
 * that a browser would read as another host, no spaces or control characters. The redirect is then
 * made to the public base URL plus this path, so even a path that slipped through would stay on
 * this origin.
 *
 * @param value the path and query, starting with one {@code /}
 */
record ReturnPath(String value) {
    private static final Pattern SAFE = Pattern.compile("/(?![/\\\\])[A-Za-z0-9\\-._~!$&'()*+,;=:@%/?]{0,2047}");
    static final ReturnPath HOME = new ReturnPath("/console/login");

    ReturnPath {
        if (value == null || !SAFE.matcher(value).matches())
            throw new SignInRefused(400, "That return address is not a page of this server, so it is not followed.");
    }

    /** The given return path, or the console's own page when none is given. */
    static ReturnPath of(String raw) {
        return raw == null || raw.isEmpty() ? HOME : new ReturnPath(raw);
    }
}
