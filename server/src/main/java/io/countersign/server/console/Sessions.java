package io.countersign.server.console;

import io.countersign.core.Principal;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Console sessions: a random id (256 bits) in an HttpOnly cookie, the signed-in principal on the
 * server, each ending {@code session_ttl} after sign-in, or when the ID token it was opened with
 * expires if that is sooner. Held in memory: a restart signs everyone out, and each node of several
 * has its own. At most {@link #MAX} are held: a new sign-in then pushes out the oldest, so sign-in
 * always works (the pushed-out person signs in again).
 *
 * <p>Each session also holds a random form token, which the forms of a signed-in page carry (sign
 * out), so that no other site can post them through the browser.
 */
final class Sessions {
    static final String COOKIE = "cs_session";
    static final int MAX = 100_000;

    private record Session(Principal principal, Instant expires, String formToken) {}

    /** A session opened: its id (for the cookie) and how long it lasts. */
    record Opened(String id, Duration lifetime) {}

    /** In order of opening; guarded by itself. */
    private final Map<String, Session> byId = new LinkedHashMap<>();

    private final Duration ttl;
    private final Clock clock;
    private final SecureRandom random;
    private final int max;

    Sessions(Duration ttl, Clock clock, SecureRandom random) {
        this(ttl, clock, random, MAX);
    }

    Sessions(Duration ttl, Clock clock, SecureRandom random, int max) {
        this.ttl = ttl;
        this.clock = clock;
        this.random = random;
        this.max = max;
    }

    /** A new session for {@code who}, ending after the TTL or at {@code notAfter} (if not null), whichever is sooner. */
    Opened open(Principal who, Instant notAfter) {
        Instant now = clock.instant();
        Instant expires = now.plus(ttl);
        if (notAfter != null && notAfter.isBefore(expires)) expires = notAfter;
        String id = randomId(random);
        synchronized (byId) {
            if (byId.size() >= max) purge(now);
            var oldest = byId.keySet().iterator();
            while (byId.size() >= max && oldest.hasNext()) {
                oldest.next();
                oldest.remove();
            }
            byId.put(id, new Session(who, expires, randomId(random)));
        }
        Duration lifetime = Duration.between(now, expires);
        return new Opened(id, lifetime.isNegative() ? Duration.ZERO : lifetime);
    }

    /** Who holds session {@code id}, unless it ended. */
    Optional<Principal> find(String id) {
        return live(id).map(Session::principal);
    }

    /** The form token of session {@code id}, unless it ended. */
    Optional<String> formToken(String id) {
        return live(id).map(Session::formToken);
    }

    private Optional<Session> live(String id) {
        if (id == null) return Optional.empty();
        synchronized (byId) {
            Session s = byId.get(id);
            if (s == null) return Optional.empty();
            if (!clock.instant().isBefore(s.expires())) {
                byId.remove(id);
                return Optional.empty();
            }
            return Optional.of(s);
        }
    }

    void close(String id) {
        if (id == null) return;
        synchronized (byId) {
            byId.remove(id);
        }
    }

    Duration ttl() {
        return ttl;
    }

    int size() {
        synchronized (byId) {
            return byId.size();
        }
    }

    private void purge(Instant now) {
        byId.values().removeIf(s -> !now.isBefore(s.expires()));
    }

    /** 32 random bytes, base64url (43 characters): session ids, state, nonces, PKCE verifiers, form tokens. */
    static String randomId(SecureRandom random) {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
