package io.countersign.server.identity;

import java.util.Locale;

/** Where an outside identity comes from: the names of {@code links} in the config. */
public enum LinkKind {
    /** An OpenID Connect subject, written {@code <issuer>#<subject>}. */
    OIDC,
    /** An email address; compared in lower case. */
    EMAIL,
    /** A Slack user id, e.g. {@code U012ABC}. */
    SLACK,
    /** A Microsoft Teams user id, e.g. {@code 29:...} or the Entra object id. */
    TEAMS;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The form values of this kind are compared in. */
    String normalise(String externalId) {
        String v = externalId.strip();
        return this == EMAIL ? v.toLowerCase(Locale.ROOT) : v;
    }
}
