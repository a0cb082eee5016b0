package io.countersign.server.identity;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.util.JSONObjectUtils;
import io.countersign.server.config.ServerConfig;
import io.countersign.server.identity.IdpHttp.IdpException;
import java.net.URI;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One issuer's signing keys: discovered, fetched, cached and followed through rotation.
 *
 * <h2>Design notes</h2>
 *
 * <ul>
 *   <li><b>Hot path.</b> A token's key is looked up in an immutable snapshot of the key set held in
 *       a volatile field: no lock and no I/O while the key is known.
 *   <li><b>Rotation.</b> A key id that the snapshot lacks triggers one fetch of the key set, then the
 *       lookup is repeated. Fetches are single-flight (one lock; a thread that waited on it uses what
 *       the fetch brought) and rate-limited: none starts within {@code jwks_min_refetch} of the
 *       previous attempt, so tokens with made-up key ids cannot make Countersign hammer the IdP.
 *   <li><b>Off the hot path.</b> {@link #refresh} runs at start and every {@code jwks_refresh} on a
 *       background thread, so a rotation is usually known before the first token signed with the new
 *       key arrives, and a token seldom waits for the network.
 *   <li><b>Fail closed.</b> A snapshot not refreshed for {@code jwks_max_age} is not used. When the
 *       key set cannot be fetched and no usable snapshot has the key, the token is refused with
 *       {@link TokenProblem#IDP_UNAVAILABLE}: an unreachable IdP never lets a token through, and a
 *       key it has withdrawn stops working within {@code jwks_max_age} even if it stays unreachable.
 *   <li><b>Discovery.</b> Unless {@code jwks_uri} is configured, {@code
 *       <issuer>/.well-known/openid-configuration} gives it; the document's {@code issuer} must equal
 *       the configured one exactly (OpenID Connect Discovery 1.0, section 4.3). It is read again
 *       after a failed key-set fetch.
 * </ul>
 *
 * Time comes from the injected clock, so tests pass rate limits and ages without sleeping.
 */
final class IssuerKeys {
    private static final Logger LOG = LoggerFactory.getLogger(IssuerKeys.class);

    private final ServerConfig.Issuer config;
    private final IdpHttp http;
    private final Clock clock;
    private final Duration minRefetch;
    private final Duration maxAge;
    private final ReentrantLock fetching = new ReentrantLock();
    private final AtomicInteger fetches = new AtomicInteger();
    private volatile Snapshot snapshot;
    private volatile Instant lastAttempt;
    private volatile String lastFailure;
    private volatile URI jwksUri;

    /** The signing keys as fetched at {@code fetchedAt}. */
    private record Snapshot(List<JWK> keys, Instant fetchedAt) {}

    IssuerKeys(ServerConfig.Issuer config, ServerConfig.Oidc settings, IdpHttp http, Clock clock) {
        this.config = config;
        this.http = http;
        this.clock = clock;
        this.minRefetch = settings.jwksMinRefetch();
        this.maxAge = settings.jwksMaxAge();
        this.jwksUri = config.jwksUri();
    }

    /** The key that verifies a token signed with {@code alg} by key {@code kid} (null when it names none). */
    JWK key(String kid, JWSAlgorithm alg) {
        Snapshot seen = usable();
        Optional<JWK> key = seen == null ? Optional.empty() : find(seen, kid, alg);
        if (key.isPresent()) return key.get();
        Snapshot fresh = refetch(seen);
        return find(fresh, kid, alg).orElseThrow(() -> unknown(kid, alg, fresh));
    }

    /** Fetches the key set now (the background refresh). */
    void refresh() {
        fetching.lock();
        try {
            fetch();
        } finally {
            fetching.unlock();
        }
    }

    /** How many times the key set was fetched (or tried). */
    int fetches() {
        return fetches.get();
    }

    private Snapshot refetch(Snapshot seen) {
        fetching.lock();
        try {
            Snapshot now = usable();
            if (now != null && now != seen) return now; // fetched while this thread waited
            if (!rateLimited()) fetch();
            Snapshot after = usable();
            if (lastFailure != null || after == null) throw unavailable();
            return after;
        } finally {
            fetching.unlock();
        }
    }

    private void fetch() {
        lastAttempt = clock.instant();
        fetches.incrementAndGet();
        try {
            URI uri = jwksUri != null ? jwksUri : discover();
            List<JWK> keys = signingKeys(http.get(uri, "key set"), uri);
            snapshot = new Snapshot(keys, lastAttempt);
            lastFailure = null;
        } catch (IdpException e) {
            lastFailure = e.getMessage();
            if (config.jwksUri() == null) jwksUri = null;
            LOG.warn("cannot fetch the signing keys of issuer {}: {}", config.issuer(), e.getMessage());
        }
    }

    private URI discover() {
        String base = config.issuer().endsWith("/")
                ? config.issuer().substring(0, config.issuer().length() - 1)
                : config.issuer();
        URI where = URI.create(base + "/.well-known/openid-configuration");
        Map<String, Object> doc = json(http.get(where, "discovery document"), where);
        Object issuer = doc.get("issuer");
        if (!config.issuer().equals(issuer))
            throw new IdpException("the discovery document " + where + " names issuer '" + issuer + "', not '"
                    + config.issuer() + "'");
        if (!(doc.get("jwks_uri") instanceof String jwks))
            throw new IdpException("the discovery document " + where + " has no jwks_uri");
        URI uri = URI.create(jwks);
        if (!"https".equals(uri.getScheme()) && !"http".equals(uri.getScheme()))
            throw new IdpException("the discovery document " + where + " gives jwks_uri '" + jwks + "'");
        jwksUri = uri;
        return uri;
    }

    /** The public signing keys of a JWK set; keys of types this library does not know are left out. */
    private static List<JWK> signingKeys(String body, URI from) {
        Object listed = json(body, from).get("keys");
        if (!(listed instanceof List<?> entries)) throw new IdpException("the key set " + from + " has no keys");
        List<JWK> keys = new ArrayList<>();
        for (Object entry : entries) {
            if (!(entry instanceof Map<?, ?> m)) continue;
            try {
                @SuppressWarnings("unchecked")
                JWK key = JWK.parse((Map<String, Object>) m);
                if (key.getKeyUse() == null || KeyUse.SIGNATURE.equals(key.getKeyUse())) keys.add(key.toPublicJWK());
            } catch (ParseException e) {
                LOG.debug("skipping a key of {}: {}", from, e.getMessage());
            }
        }
        if (keys.isEmpty()) throw new IdpException("the key set " + from + " has no usable signing keys");
        return List.copyOf(keys);
    }

    private static Map<String, Object> json(String body, URI from) {
        try {
            return JSONObjectUtils.parse(body);
        } catch (ParseException e) {
            throw new IdpException(from + " is not a JSON object: " + e.getMessage());
        }
    }

    private Optional<JWK> find(Snapshot s, String kid, JWSAlgorithm alg) {
        if (kid == null) {
            List<JWK> fitting =
                    s.keys().stream().filter(k -> Signatures.fits(k, alg)).toList();
            return fitting.size() == 1 ? Optional.of(fitting.get(0)) : Optional.empty();
        }
        List<JWK> named =
                s.keys().stream().filter(k -> kid.equals(k.getKeyID())).toList();
        if (named.isEmpty()) return Optional.empty();
        return Optional.of(named.stream()
                .filter(k -> Signatures.fits(k, alg))
                .findFirst()
                .orElseThrow(() -> new TokenRejectedException(
                        TokenProblem.INVALID_SIGNATURE,
                        "key '" + kid + "' of " + config.issuer() + " " + Signatures.misfit(named.get(0), alg))));
    }

    private Snapshot usable() {
        Snapshot s = snapshot;
        return s != null && clock.instant().isBefore(s.fetchedAt().plus(maxAge)) ? s : null;
    }

    private boolean rateLimited() {
        Instant last = lastAttempt;
        return last != null && clock.instant().isBefore(last.plus(minRefetch));
    }

    private TokenRejectedException unknown(String kid, JWSAlgorithm alg, Snapshot s) {
        String detail = kid == null
                ? "the token names no key (kid) and " + config.issuer() + " publishes "
                        + s.keys().stream().filter(k -> Signatures.fits(k, alg)).count() + " keys for " + alg
                : "the token is signed by key '" + kid + "', which " + config.issuer() + " does not publish";
        return new TokenRejectedException(TokenProblem.UNKNOWN_KEY, detail);
    }

    private TokenRejectedException unavailable() {
        return new TokenRejectedException(
                TokenProblem.IDP_UNAVAILABLE,
                "the signing keys of " + config.issuer() + " cannot be fetched just now, so no token of it is"
                        + " accepted; try again shortly");
    }
}
