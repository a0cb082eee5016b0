package io.countersign.server;

import io.countersign.core.Principal;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;

/** Turns an {@code Authorization: Bearer <key>} header into a principal, or a 401 problem. */
final class Authenticator {
    private final ApiKeys keys;

    Authenticator(ApiKeys keys) {
        this.keys = keys;
    }

    Principal principal(ServerRequest req) {
        String header = req.headers().first(HeaderNames.AUTHORIZATION).orElse(null);
        if (header == null) {
            throw Bodies.problem(
                    401, "unauthenticated", "Authentication required", "send Authorization: Bearer <api key>");
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw Bodies.problem(
                    401, "unauthenticated", "Authentication required", "the Authorization scheme must be Bearer");
        }
        return keys.authenticate(header.substring(7).strip())
                .orElseThrow(() ->
                        Bodies.problem(401, "invalid-credentials", "Invalid credentials", "the API key is not valid"));
    }
}
