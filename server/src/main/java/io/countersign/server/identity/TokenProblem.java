package io.countersign.server.identity;

/**
 * Why a bearer token was not accepted. Each is its own problem type ({@code
 * urn:countersign:problem:<slug>}) so that a client can tell a clock problem from a configuration
 * one. All are 401 except {@link #IDP_UNAVAILABLE}: the token could not be checked, so it was not
 * accepted either.
 */
public enum TokenProblem {
    MALFORMED(401, "token-malformed", "The bearer token is not a well-formed JWT"),
    UNSIGNED(401, "token-unsigned", "The token is not signed"),
    ALGORITHM_NOT_ALLOWED(401, "token-algorithm-not-allowed", "The token's signature algorithm is not accepted"),
    INVALID_ISSUER(401, "token-invalid-issuer", "The token's issuer is not trusted"),
    UNKNOWN_KEY(401, "token-unknown-key", "The token is signed by a key its issuer does not publish"),
    INVALID_SIGNATURE(401, "token-invalid-signature", "The token's signature is not valid"),
    EXPIRED(401, "token-expired", "The token has expired"),
    NOT_YET_VALID(401, "token-not-yet-valid", "The token is not valid yet"),
    INVALID_AUDIENCE(401, "token-invalid-audience", "The token is not meant for this server"),
    INVALID_CLAIMS(401, "token-invalid-claims", "The token lacks a claim or has one of the wrong type"),
    UNKNOWN_PRINCIPAL(401, "token-unknown-principal", "The token names no usable principal"),
    AMBIGUOUS_PRINCIPAL(
            401, "token-ambiguous-principal", "The token's claims link it to more than one declared identity"),
    IDP_UNAVAILABLE(503, "idp-unavailable", "The identity provider's keys are unavailable");

    private final int status;
    private final String slug;
    private final String title;

    TokenProblem(int status, String slug, String title) {
        this.status = status;
        this.slug = slug;
        this.title = title;
    }

    public int status() {
        return status;
    }

    public String slug() {
        return slug;
    }

    public String title() {
        return title;
    }
}
