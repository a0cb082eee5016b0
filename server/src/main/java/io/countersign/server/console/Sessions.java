package io.countersign.server.console;

import io.countersign.core.Principal;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Console sessions: a random id (256 bits) in an HttpOnly cookie, the signed-in principal on the
 * server, each ending {@code session_ttl} after sign-in. Held in memory: a restart signs everyone
 * out, and each node of several has its own.
 */
final class Sessions {
    static final String COOKIE = "cs_session";
    private static final int MAX = 100_000;

    private record Session(Principal principal, Instant expires) {}

    private final Map<String, Session> byId = new ConcurrentHashMap<>();
    private final Duration ttl;
    private final Clock clock;
    private final SecureRandom random;

    Sessions(Duration ttl, Clock clock, SecureRandom random) {
        this.ttl = ttl;
        this.clock = clock;
        this.random = random;
    }

    /** A new session for {@code who}; its id goes in the cookie. */
    String open(Principal who) {
        if (byId.size() >= MAX) purge();
        if (byId.size() >= MAX)
            throw new SignInRefused(503, "Too many people are signed in just now; try again in a few minutes.");
        String id = randomId(random);
        byId.put(id, new Session(who, clock.instant().plus(ttl)));
        return id;
    }

    /** Who holds session {@code id}, unless it ended. */
    Optional<Principal> find(String id) {
        if (id == null) return Optional.empty();
        Session s = byId.get(id);
        if (s == null) return Optional.empty();
        if (!clock.instant().isBefore(s.expires())) {
            byId.remove(id, s);
            return Optional.empty();
        }
        return Optional.of(s.principal());
    }

    void close(String id) {
        if (id != null) byId.remove(id);
    }

    Duration ttl() {
        return ttl;
    }

    private void purge() {
        Instant now = clock.instant();
        byId.values().removeIf(s -> !now.isBefore(s.expires()));
    }

    /** 32 random bytes, base64url (43 characters): session ids, state, nonces and PKCE verifiers. */
    static String randomId(SecureRandom random) {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
