package io.countersign.core;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Objects;

/**
 * Proof that a request may run now: single use, bound to the digest, short-lived.
 *
 * @param id the grant's id
 * @param digest the digest it is bound to; a redeem with any other digest is refused
 * @param issuedAt when it was issued
 * @param expiresAt when it stops being redeemable
 * @param redeemedAt when it was redeemed, or null while unused
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Grant(String id, String digest, Instant issuedAt, Instant expiresAt, Instant redeemedAt) {
    public Grant {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(digest, "digest");
        Objects.requireNonNull(issuedAt, "issuedAt");
        Objects.requireNonNull(expiresAt, "expiresAt");
    }

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isRedeemed() {
        return redeemedAt != null;
    }

    public boolean isExpiredAt(Instant now) {
        return !now.isBefore(expiresAt);
    }

    Grant redeem(Instant at) {
        return new Grant(id, digest, issuedAt, expiresAt, at);
    }
}
