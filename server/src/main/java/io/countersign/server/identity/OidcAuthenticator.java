package io.countersign.server.identity;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.countersign.core.Principal;
import io.countersign.server.config.ServerConfig;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates bearer JWTs from the configured OpenID Connect issuers (JWS compact form only).
 *
 * <p>Checks, in order, each failing with its own {@link TokenProblem}: the header's {@code alg} is
 * not {@code none} and not HMAC (an issuer's public key must never serve as an HMAC secret); the
 * {@code iss} is a configured issuer, and the algorithm is on its allow-list; the issuer publishes the
 * key ({@code kid}); the signature is valid; {@code exp} (required) and {@code nbf} hold, with the
 * issuer's clock skew; {@code aud} names a configured audience; the claims name a usable principal
 * ({@link TokenPrincipals}). The issuer's claim is read before the signature is checked only to choose
 * whose keys to check it with.
 */
public final class OidcAuthenticator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OidcAuthenticator.class);
    private static final int MAX_TOKEN_CHARS = 16 * 1024;

    private final Map<String, Trusted> byIssuer;
    private final Clock clock;
    private final ScheduledExecutorService refresher;

    /** One configured issuer: its settings, its keys and how its claims become a principal. */
    private record Trusted(ServerConfig.Issuer config, IssuerKeys keys, TokenPrincipals principals) {}

    private OidcAuthenticator(Map<String, Trusted> byIssuer, Clock clock, ScheduledExecutorService refresher) {
        this.byIssuer = byIssuer;
        this.clock = clock;
        this.refresher = refresher;
    }

    /**
     * Trusts {@code config}'s issuers, fetching each one's keys now and every {@code jwks_refresh} in
     * the background. Returns at once: an unreachable IdP does not stop the server starting.
     */
    public static OidcAuthenticator start(ServerConfig.Oidc config, Identities identities, Clock clock) {
        IdpHttp http = new IdpHttp(config.httpTimeout());
        Map<String, Trusted> byIssuer = config.issuers().stream()
                .map(i -> new Trusted(i, new IssuerKeys(i, config, http, clock), new TokenPrincipals(i, identities)))
                .collect(Collectors.toUnmodifiableMap(t -> t.config().issuer(), Function.identity()));
        ScheduledExecutorService refresher = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("countersign-jwks").daemon(true).factory());
        long every = config.jwksRefresh().toMillis();
        for (Trusted t : byIssuer.values()) {
            refresher.scheduleWithFixedDelay(() -> refresh(t), 0, every, TimeUnit.MILLISECONDS);
        }
        return new OidcAuthenticator(byIssuer, clock, refresher);
    }

    /** Whether a bearer credential has the shape of a JWS compact token (API keys never contain a dot). */
    public static boolean looksLikeJwt(String credential) {
        int first = credential.indexOf('.');
        int second = first < 0 ? -1 : credential.indexOf('.', first + 1);
        return second > 0 && credential.indexOf('.', second + 1) < 0;
    }

    /** The principal {@code token} stands for; never logs or echoes the token. */
    public Principal authenticate(String token) {
        try {
            if (token.length() > MAX_TOKEN_CHARS)
                throw new TokenRejectedException(
                        TokenProblem.MALFORMED, "the token is longer than " + MAX_TOKEN_CHARS + " characters");
            return verified(token);
        } catch (TokenRejectedException e) {
            LOG.debug("bearer token refused: {}: {}", e.problem().slug(), e.getMessage());
            throw e;
        }
    }

    /**
     * The person an ID token from the console's sign-in stands for. Checked as a bearer token is
     * (signature, algorithm, {@code exp}, {@code nbf}), except that it must come from {@code issuer},
     * be issued to {@code clientId} ({@code aud}, and {@code azp} when present) and carry the {@code
     * nonce} the sign-in sent (OpenID Connect Core 1.0, section 3.1.3.7). Its claims become a principal
     * as a bearer token's do, except that an undeclared person needs no verified email or {@code
     * human_claim} to be human: a person signed in interactively to get it ({@link
     * TokenPrincipals#signedIn}).
     */
    public Principal signIn(String idToken, String issuer, String clientId, String nonce) {
        try {
            if (idToken.length() > MAX_TOKEN_CHARS)
                throw new TokenRejectedException(
                        TokenProblem.MALFORMED, "the ID token is longer than " + MAX_TOKEN_CHARS + " characters");
            SignedJWT jwt = parse(idToken);
            JWTClaimsSet claims = claims(jwt);
            Trusted trusted = checked(jwt, claims);
            if (!trusted.config().issuer().equals(issuer))
                throw new TokenRejectedException(
                        TokenProblem.INVALID_ISSUER, "the ID token is not from the console's issuer " + issuer);
            checkClient(claims, clientId);
            checkNonce(claims, nonce);
            return trusted.principals().signedIn(claims);
        } catch (TokenRejectedException e) {
            LOG.debug("ID token refused: {}: {}", e.problem().slug(), e.getMessage());
            throw e;
        }
    }

    private Principal verified(String token) {
        SignedJWT jwt = parse(token);
        JWTClaimsSet claims = claims(jwt);
        Trusted issuer = checked(jwt, claims);
        checkAudience(claims, issuer.config());
        return issuer.principals().principal(claims);
    }

    /** The issuer of a token whose header, algorithm, signature and times hold. */
    private Trusted checked(SignedJWT jwt, JWTClaimsSet claims) {
        Trusted issuer = issuer(claims);
        JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
        if (!issuer.config().algorithms().contains(alg.getName()))
            throw new TokenRejectedException(
                    TokenProblem.ALGORITHM_NOT_ALLOWED,
                    "the token is signed with " + alg + ", which "
                            + issuer.config().issuer() + " is not trusted for");
        if (!Signatures.verify(jwt, issuer.keys().key(keyId(jwt.getHeader()), alg)))
            throw new TokenRejectedException(TokenProblem.INVALID_SIGNATURE, "the token's signature does not verify");
        checkTimes(claims, issuer.config().clockSkew());
        return issuer;
    }

    /** Refuses {@code alg: none} and HMAC before anything else is read. */
    private static void requireSigned(String token) {
        Object alg;
        try {
            Map<String, Object> header =
                    JSONObjectUtils.parse(new Base64URL(token.substring(0, token.indexOf('.'))).decodeToString());
            alg = header.get("alg");
        } catch (ParseException | RuntimeException e) {
            throw new TokenRejectedException(TokenProblem.MALFORMED, "the token's header is not base64url JSON");
        }
        if (!(alg instanceof String name) || name.isBlank())
            throw new TokenRejectedException(TokenProblem.MALFORMED, "the token's header has no alg");
        if (name.equalsIgnoreCase("none"))
            throw new TokenRejectedException(
                    TokenProblem.UNSIGNED, "the token says alg none: unsigned tokens are never accepted");
        if (name.toUpperCase(Locale.ROOT).startsWith("HS"))
            throw new TokenRejectedException(
                    TokenProblem.ALGORITHM_NOT_ALLOWED,
                    "the token is signed with HMAC (" + cut(name)
                            + "); only an issuer's asymmetric signatures are accepted");
    }

    private static SignedJWT parse(String token) {
        requireSigned(token);
        try {
            return SignedJWT.parse(token);
        } catch (ParseException e) {
            throw new TokenRejectedException(
                    TokenProblem.MALFORMED, "the token is not a signed JWT (JWS compact form)");
        }
    }

    private static JWTClaimsSet claims(SignedJWT jwt) {
        try {
            return jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new TokenRejectedException(
                    TokenProblem.INVALID_CLAIMS, "the token's claims are not valid JWT claims: " + e.getMessage());
        }
    }

    private Trusted issuer(JWTClaimsSet claims) {
        String iss = claims.getIssuer();
        if (iss == null) throw new TokenRejectedException(TokenProblem.INVALID_ISSUER, "the token has no iss claim");
        Trusted t = byIssuer.get(iss);
        if (t == null)
            throw new TokenRejectedException(
                    TokenProblem.INVALID_ISSUER, "the token's issuer '" + cut(iss) + "' is not a configured issuer");
        return t;
    }

    private static String keyId(JWSHeader header) {
        String kid = header.getKeyID();
        if (kid != null && kid.length() > 256)
            throw new TokenRejectedException(TokenProblem.MALFORMED, "the token's kid is longer than 256 characters");
        return kid;
    }

    private void checkTimes(JWTClaimsSet claims, Duration skew) {
        Instant now = clock.instant();
        Date exp = claims.getExpirationTime();
        if (exp == null)
            throw new TokenRejectedException(
                    TokenProblem.INVALID_CLAIMS,
                    "the token has no exp claim; tokens that never expire are not accepted");
        if (!now.isBefore(exp.toInstant().plus(skew)))
            throw new TokenRejectedException(
                    TokenProblem.EXPIRED,
                    "the token expired at " + exp.toInstant() + " (clock skew allowed: " + skew.toSeconds() + "s)");
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && now.plus(skew).isBefore(nbf.toInstant()))
            throw new TokenRejectedException(
                    TokenProblem.NOT_YET_VALID,
                    "the token is valid from " + nbf.toInstant() + " (clock skew allowed: " + skew.toSeconds()
                            + "s); check the clocks of the identity provider and this server");
    }

    private static void checkAudience(JWTClaimsSet claims, ServerConfig.Issuer config) {
        List<String> aud = claims.getAudience();
        if (aud.stream().noneMatch(config.audiences()::contains))
            throw new TokenRejectedException(
                    TokenProblem.INVALID_AUDIENCE,
                    "the token's aud " + cut(aud.toString()) + " names none of "
                            + config.audiences().stream().sorted().toList());
    }

    private static void checkClient(JWTClaimsSet claims, String clientId) {
        List<String> aud = claims.getAudience();
        if (!aud.contains(clientId))
            throw new TokenRejectedException(
                    TokenProblem.INVALID_AUDIENCE,
                    "the ID token's aud " + cut(aud.toString()) + " does not name the console's client " + clientId);
        Object azp = claims.getClaim("azp");
        if ((azp != null || aud.size() > 1) && !clientId.equals(azp))
            throw new TokenRejectedException(
                    TokenProblem.INVALID_AUDIENCE, "the ID token was issued to another client (azp)");
    }

    private static void checkNonce(JWTClaimsSet claims, String nonce) {
        Object given = claims.getClaim("nonce");
        boolean same = given instanceof String g
                && java.security.MessageDigest.isEqual(
                        g.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        nonce.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        if (!same)
            throw new TokenRejectedException(
                    TokenProblem.INVALID_CLAIMS, "the ID token's nonce is not the one this sign-in sent");
    }

    /** How many times {@code issuer}'s key set has been fetched (or tried). */
    int keyFetches(String issuer) {
        return byIssuer.get(issuer).keys().fetches();
    }

    private static void refresh(Trusted t) {
        try {
            t.keys().refresh();
        } catch (RuntimeException e) {
            LOG.warn("refreshing the keys of {} failed: {}", t.config().issuer(), e.toString());
        }
    }

    private static String cut(String s) {
        return s.length() <= 100 ? s : s.substring(0, 100) + "...";
    }

    @Override
    public void close() {
        refresher.shutdownNow();
    }
}
