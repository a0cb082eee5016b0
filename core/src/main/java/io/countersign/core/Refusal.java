package io.countersign.core;

/**
 * Why an operation on a request was refused. A closed set: each entry point maps each code to
 * its own error form (problem+json type and status on HTTP, a JSON-RPC error on MCP).
 */
public enum Refusal {
    /** A review by a principal that is not a human. */
    NON_HUMAN_REVIEWER,
    /** A review by the principal that submitted the request. */
    SELF_REVIEW,
    /** A review by the requesting agent's owner. */
    OWNER_REVIEW,
    /** A review by the human the agent acts on behalf of. */
    ON_BEHALF_OF_REVIEW,
    /** A review by a human whom no approval requirement of the request admits. */
    INELIGIBLE_REVIEWER,
    /** A second review of the same request by the same person. */
    ALREADY_REVIEWED,
    /** A review for a digest other than the request's. */
    STALE_DIGEST,
    /** An approval without the reason the matching rule requires, or a denial without any reason. */
    REASON_REQUIRED,
    /** The operation needs a pending request. */
    NOT_PENDING,
    /** The operation needs an approved request with an unused grant. */
    NOT_APPROVED,
    /** The grant has been redeemed already. */
    ALREADY_REDEEMED,
    /** The grant (or the pending request) expired. */
    EXPIRED,
    /** A redeem with a digest other than the one the grant is bound to. */
    DIGEST_MISMATCH,
    /** An outcome reported before the grant was redeemed. */
    NOT_REDEEMED,
    /** The operation is the requester's alone. */
    NOT_REQUESTER,
    /** The principal's kind may not do this (e.g. a human submitting, an agent reviewing a list). */
    WRONG_PRINCIPAL_KIND,
    /** An Idempotency-Key reused with a different request body. */
    IDEMPOTENCY_KEY_REUSED,
    /** The on_behalf_of principal is not a known human. */
    UNKNOWN_ON_BEHALF_OF;

    /** The problem type slug, e.g. {@code owner-review}. */
    public String slug() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
