package io.countersign.server;

import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.core.Refusal;
import io.countersign.core.RefusedException;
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
    private static final String PERSON_BY_TOKEN = "A token that no declared identity links to is a person's only"
            + " if it matches the issuer's human_claim or, where none is set, carries a verified email; if this is a"
            + " person, declare them in identities (links.oidc)";

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

    /**
     * {@code refused}, explained when it turns away as a reviewer a service that came with a token:
     * the caller may be a person whose token does not show it, so the detail says what makes an
     * undeclared token a person's. Nothing of the token is echoed.
     */
    RuntimeException explained(ServerRequest req, Principal who, RefusedException refused) {
        boolean byToken = tokens != null && OidcAuthenticator.looksLikeJwt(credential(req));
        if (refused.refusal() != Refusal.NON_HUMAN_REVIEWER || who.kind() != PrincipalKind.SERVICE || !byToken)
            return refused;
        return Problem.of(refused.refusal(), refused.getMessage() + ". " + PERSON_BY_TOKEN)
                .thrown();
    }

    private static String credential(ServerRequest req) {
        String header = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
        return header.length() < 7 ? "" : header.substring(7).strip();
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
