package io.countersign.server;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Refusal;

/**
 * An RFC 9457 problem: every error the HTTP API returns. The type is {@code
 * urn:countersign:problem:<slug>}, one slug per distinct failure, so clients can branch on it.
 *
 * @param status HTTP status
 * @param slug the problem type's last segment, e.g. {@code owner-review}
 * @param title a short summary that does not change between occurrences
 * @param detail this occurrence, in words
 */
public record Problem(int status, String slug, String title, String detail) {
    public static final String TYPE_PREFIX = "urn:countersign:problem:";
    public static final String MEDIA_TYPE = "application/problem+json";

    /** The problem+json body. */
    public ObjectNode toJson(String instance) {
        ObjectNode o = JsonNodeFactory.instance
                .objectNode()
                .put("type", TYPE_PREFIX + slug)
                .put("title", title)
                .put("status", status)
                .put("detail", detail);
        if (instance != null) o.put("instance", instance);
        return o;
    }

    /** The thrown form, for handlers. */
    public Thrown thrown() {
        return new Thrown(this);
    }

    /** The problem for a core refusal. */
    public static Problem of(Refusal refusal, String detail) {
        return new Problem(status(refusal), refusal.slug(), title(refusal), detail);
    }

    static int status(Refusal refusal) {
        return switch (refusal) {
            case NON_HUMAN_REVIEWER,
                    SELF_REVIEW,
                    OWNER_REVIEW,
                    ON_BEHALF_OF_REVIEW,
                    INELIGIBLE_REVIEWER,
                    NOT_REQUESTER,
                    WRONG_PRINCIPAL_KIND -> 403;
            case ALREADY_REVIEWED,
                    NOT_PENDING,
                    NOT_APPROVED,
                    ALREADY_REDEEMED,
                    NOT_REDEEMED,
                    STALE_DIGEST,
                    DIGEST_MISMATCH -> 409;
            case EXPIRED -> 410;
            case REASON_REQUIRED, IDEMPOTENCY_KEY_REUSED, UNKNOWN_ON_BEHALF_OF -> 422;
        };
    }

    private static String title(Refusal refusal) {
        return switch (refusal) {
            case NON_HUMAN_REVIEWER -> "Only humans review";
            case SELF_REVIEW -> "The requester cannot review its own request";
            case OWNER_REVIEW -> "The agent's owner cannot review its requests";
            case ON_BEHALF_OF_REVIEW -> "The human the agent acts for cannot review its request";
            case INELIGIBLE_REVIEWER -> "Not an eligible reviewer of this request";
            case ALREADY_REVIEWED -> "Already reviewed by this person";
            case STALE_DIGEST -> "The review is for another digest";
            case REASON_REQUIRED -> "A reason is required";
            case NOT_PENDING -> "The request is not pending";
            case NOT_APPROVED -> "The request has no usable grant";
            case ALREADY_REDEEMED -> "The grant was redeemed already";
            case EXPIRED -> "Expired";
            case DIGEST_MISMATCH -> "The digest does not match the grant";
            case NOT_REDEEMED -> "The grant has not been redeemed";
            case NOT_REQUESTER -> "Only the requester may do this";
            case WRONG_PRINCIPAL_KIND -> "This kind of principal may not do this";
            case IDEMPOTENCY_KEY_REUSED -> "Idempotency-Key reused with a different request";
            case UNKNOWN_ON_BEHALF_OF -> "on_behalf_of is not a known human";
        };
    }

    /** A problem thrown out of a handler and written by the error handler. */
    public static final class Thrown extends RuntimeException {
        private final Problem problem;

        Thrown(Problem problem) {
            super(problem.detail(), null, false, false);
            this.problem = problem;
        }

        public Problem problem() {
            return problem;
        }
    }
}
