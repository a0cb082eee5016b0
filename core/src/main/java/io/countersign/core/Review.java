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
 * @param groups the groups the reviewer had when the review was recorded: the quorum is counted
 *     with these, so that it does not depend on who is still in the directory (people known only
 *     from a token, group changes) when a later review completes it
 */
public record Review(
        String reviewer, Verdict verdict, String reason, String channel, Instant at, java.util.Set<String> groups) {
    public Review {
        Objects.requireNonNull(reviewer, "reviewer");
        Objects.requireNonNull(verdict, "verdict");
        reason = reason == null ? "" : reason;
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(at, "at");
        groups = groups == null ? null : Sorted.of(groups);
    }
}
