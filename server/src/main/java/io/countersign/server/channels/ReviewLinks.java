package io.countersign.server.channels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.RequestId;
import io.countersign.core.json.Json;
import io.countersign.core.spi.Outbox;
import io.countersign.core.spi.StorageException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One-time review links: what a link may do, signed with the server's link key (HMAC-SHA256), and
 * used once.
 *
 * <p>A token is {@code base64url(claims JSON) "." base64url(HMAC-SHA256(key, "countersign-link-v1."
 * + first part))}. The claims bind the channel, the request, the digest the reviewer is shown, the
 * approver (for a link sent to one person) and the expiry, plus a random nonce. {@link #verify}
 * compares the MAC in constant time before it reads any claim; {@link #consume} records the nonce,
 * so a second use of the same link is refused.
 */
public final class ReviewLinks {
    private static final String CONTEXT = "countersign-link-v1.";
    private static final String FORM_CONTEXT = "countersign-review-form-v1\n";
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder D64 = Base64.getUrlDecoder();

    private final SecretKeySpec key;
    private final Clock clock;
    private final Outbox outbox;
    private final SecureRandom random;

    public ReviewLinks(byte[] key, Clock clock, Outbox outbox, SecureRandom random) {
        if (key.length < 32) throw new IllegalArgumentException("a link key has at least 32 bytes");
        this.key = new SecretKeySpec(key.clone(), "HmacSHA256");
        this.clock = clock;
        this.outbox = outbox;
        this.random = random;
    }

    /**
     * What a link allows.
     *
     * @param channel the channel that sent it ({@code email}, {@code teams}); the review is recorded as from it
     * @param requestId the request
     * @param digest the digest the link shows; a changed request is not reviewed through it
     * @param approver the principal id it was sent to, or null when whoever opens it must sign in
     * @param expires when it stops working
     * @param nonce what makes it single-use
     */
    public record Claims(
            String channel, RequestId requestId, String digest, String approver, Instant expires, String nonce) {
        public Claims {
            Objects.requireNonNull(channel, "channel");
            Objects.requireNonNull(requestId, "requestId");
            Objects.requireNonNull(digest, "digest");
            Objects.requireNonNull(expires, "expires");
            Objects.requireNonNull(nonce, "nonce");
        }
    }

    /** A link that is forged, malformed, expired or already used. The message says which. */
    public static final class Rejected extends RuntimeException {
        private final String slug;

        Rejected(String slug, String message) {
            super(message, null, false, false);
            this.slug = slug;
        }

        /** {@code link-invalid}, {@code link-expired} or {@code link-used}. */
        public String slug() {
            return slug;
        }
    }

    /** A signed token for {@code channel}, {@code request}, {@code digest} and {@code approver}, valid until {@code expires}. */
    public String issue(String channel, RequestId request, String digest, String approver, Instant expires) {
        byte[] n = new byte[16];
        random.nextBytes(n);
        ObjectNode c = Json.mapper()
                .createObjectNode()
                .put("ch", channel)
                .put("req", request.value())
                .put("dig", digest)
                .put("exp", expires.getEpochSecond())
                .put("n", HexFormat.of().formatHex(n));
        if (approver != null) c.put("who", approver);
        String body = B64.encodeToString(c.toString().getBytes(StandardCharsets.UTF_8));
        return body + "." + B64.encodeToString(mac(CONTEXT + body));
    }

    /** The claims of a genuine, unexpired token; it may still have been used (see {@link #consume}). */
    public Claims verify(String token) {
        int dot = token == null ? -1 : token.indexOf('.');
        if (dot <= 0 || token.length() > 2048) throw new Rejected("link-invalid", "this link is not one of ours");
        String body = token.substring(0, dot);
        byte[] given;
        try {
            given = D64.decode(token.substring(dot + 1));
        } catch (IllegalArgumentException e) {
            throw new Rejected("link-invalid", "this link is not one of ours");
        }
        if (!MessageDigest.isEqual(mac(CONTEXT + body), given))
            throw new Rejected("link-invalid", "this link's signature does not verify: it was altered or forged");
        Claims c = parse(body);
        if (!clock.instant().isBefore(c.expires()))
            throw new Rejected("link-expired", "this link expired at " + c.expires());
        return c;
    }

    /**
     * What the review form of link {@code token} carries for {@code reviewer} (a hidden field): only
     * the page this server showed that reviewer has it, so a form another site posts through a
     * signed-in person's browser is refused even when the browser sends no {@code Origin} or {@code
     * Sec-Fetch-Site}. Its MAC input starts with another context than a link's, so neither can stand
     * for the other.
     */
    public String formToken(String token, String reviewer) {
        return B64.encodeToString(mac(FORM_CONTEXT + reviewer + "\n" + token));
    }

    /** Whether {@code given} is {@link #formToken}{@code (token, reviewer)}, compared in constant time. */
    public boolean formTokenMatches(String token, String reviewer, String given) {
        byte[] expected = formToken(token, reviewer).getBytes(StandardCharsets.US_ASCII);
        return given != null && MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8));
    }

    /** Marks the link used; a second call for the same link throws {@link Rejected} ({@code link-used}). */
    public void consume(Claims c) {
        if (!outbox.useOnce("link:" + c.nonce(), clock.instant()))
            throw new Rejected("link-used", "this link was already used");
    }

    /**
     * Marks the link used by {@code reviewer}: a link not sent to one person (a Teams card a whole
     * channel sees) works once for each person who signs in through it.
     */
    public void consume(Claims c, String reviewer) {
        if (!outbox.useOnce("link:" + c.nonce() + ":" + reviewer, clock.instant()))
            throw new Rejected("link-used", "you have already used this link");
    }

    private static Claims parse(String body) {
        try {
            JsonNode n = Json.mapper().readTree(D64.decode(body));
            return new Claims(
                    n.get("ch").asText(),
                    new RequestId(n.get("req").asText()),
                    n.get("dig").asText(),
                    n.hasNonNull("who") ? n.get("who").asText() : null,
                    Instant.ofEpochSecond(n.get("exp").asLong()),
                    n.get("n").asText());
        } catch (IOException | RuntimeException e) {
            throw new Rejected("link-invalid", "this link is not one of ours");
        }
    }

    private byte[] mac(String input) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(key);
            return m.doFinal(input.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable", e);
        }
    }

    /**
     * The link key: the configured one, else {@code <dataDir>/links.key}, generated (32 random bytes,
     * owner-only) at first start.
     */
    public static byte[] key(byte[] configured, Path dataDir, SecureRandom random) {
        if (configured != null) return configured;
        Path file = dataDir.resolve("links.key");
        try {
            if (Files.exists(file))
                return Base64.getDecoder().decode(Files.readString(file).strip());
            byte[] k = new byte[32];
            random.nextBytes(k);
            Files.createDirectories(dataDir);
            Files.writeString(
                    Files.createFile(
                            file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))),
                    Base64.getEncoder().encodeToString(k) + "\n",
                    StandardOpenOption.WRITE);
            return k;
        } catch (IOException | IllegalArgumentException e) {
            throw new StorageException("cannot read or create the link key " + file + ": " + e.getMessage(), e);
        }
    }
}
