package io.countersign.server;

import io.countersign.core.Principal;
import io.countersign.server.identity.OidcAuthenticator;
import io.countersign.server.identity.TokenRejectedException;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;

/**
 * Turns an {@code Authorization: Bearer <credential>} header into a principal, or a problem. The
 * credential is an API key, or, when OIDC issuers are configured, a JWT from one of them (a
 * credential with two dots; an API key has none). Neither is ever echoed.
 */
final class Authenticator {
    private final ApiKeys keys;
    private final OidcAuthenticator tokens;

    Authenticator(ApiKeys keys) {
        this(keys, null);
    }

    /** {@code tokens} is null when no issuer is configured. */
    Authenticator(ApiKeys keys, OidcAuthenticator tokens) {
        this.keys = keys;
        this.tokens = tokens;
    }

    Principal principal(ServerRequest req) {
        String header = req.headers().first(HeaderNames.AUTHORIZATION).orElse(null);
        if (header == null) {
            throw Bodies.problem(
                    401,
                    "unauthenticated",
                    "Authentication required",
                    "send Authorization: Bearer " + (tokens == null ? "<api key>" : "<api key or token>"));
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw Bodies.problem(
                    401, "unauthenticated", "Authentication required", "the Authorization scheme must be Bearer");
        }
        String credential = header.substring(7).strip();
        boolean jwt = OidcAuthenticator.looksLikeJwt(credential);
        if (tokens != null && jwt) return token(credential);
        return keys.authenticate(credential).orElseThrow(() -> invalid(jwt));
    }

    private static Problem.Thrown invalid(boolean jwt) {
        String detail = jwt
                ? "this looks like a JWT, but no OIDC issuer is configured (see oidc in the config); send an API key"
                : "the API key is not valid";
        return Bodies.problem(401, "invalid-credentials", "Invalid credentials", detail);
    }

    private Principal token(String token) {
        try {
            return tokens.authenticate(token);
        } catch (TokenRejectedException e) {
            throw Bodies.problem(
                    e.problem().status(), e.problem().slug(), e.problem().title(), e.getMessage());
        }
    }
}
