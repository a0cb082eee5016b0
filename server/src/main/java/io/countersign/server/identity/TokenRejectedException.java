package io.countersign.server.identity;

/**
 * A bearer token was not accepted. The message says why in words a caller can act on; it never
 * contains the token.
 */
public final class TokenRejectedException extends RuntimeException {
    private final TokenProblem problem;

    TokenRejectedException(TokenProblem problem, String detail) {
        super(detail, null, false, false);
        this.problem = problem;
    }

    public TokenProblem problem() {
        return problem;
    }
}
