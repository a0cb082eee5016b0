package io.countersign.core;

import java.time.Instant;
import java.util.Objects;

/**
 * An outside identity that a verified token tied to a principal: the same verified email, Slack or
 * Teams id, or token subject names that principal from then on, so one person is one principal under
 * every subject they sign in with. Kept by the store so that a restart forgets none of it: a person
 * who approved under one subject must not become a second approver, or their own agent's approver,
 * under another.
 *
 * @param kind the link's kind as written on the wire: {@code oidc}, {@code email}, {@code slack}, {@code teams}
 * @param value the outside identity, normalised (an email in lower case)
 * @param principal the principal id it names
 * @param principalKind that principal's kind when the link was learned
 * @param learnedAt when the first token carrying it was verified
 */
public record LearnedLink(String kind, String value, String principal, PrincipalKind principalKind, Instant learnedAt) {
    public LearnedLink {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(principal, "principal");
        Objects.requireNonNull(principalKind, "principalKind");
        Objects.requireNonNull(learnedAt, "learnedAt");
    }
}
