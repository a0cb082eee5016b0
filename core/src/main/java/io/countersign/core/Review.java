package io.countersign.core;

import java.time.Instant;
import java.util.Objects;

/**
 * One human's verdict on a pending request.
 *
 * @param reviewer the reviewing human's principal id
 * @param verdict approve or deny
 * @param reason the reviewer's reason (empty when none was required or given)
 * @param channel where it came from: {@code api}, {@code cli}, later {@code slack}, {@code email}...
 * @param at when it was recorded
 */
public record Review(String reviewer, Verdict verdict, String reason, String channel, Instant at) {
    public Review {
        Objects.requireNonNull(reviewer, "reviewer");
        Objects.requireNonNull(verdict, "verdict");
        reason = reason == null ? "" : reason;
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(at, "at");
    }
}
