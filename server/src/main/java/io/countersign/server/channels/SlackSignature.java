package io.countersign.server.channels;

import io.countersign.server.Problem;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Slack's request signature (v0): {@code X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret,
 * "v0:" + X-Slack-Request-Timestamp + ":" + raw body)>}. A timestamp more than five minutes from now
 * is refused, so a captured request cannot be replayed later; the comparison is constant-time.
 */
final class SlackSignature {
    private static final Logger LOG = LoggerFactory.getLogger(SlackSignature.class);
    static final Duration TOLERANCE = Duration.ofMinutes(5);

    private final SecretKeySpec key;
    private final Clock clock;

    SlackSignature(byte[] signingSecret, Clock clock) {
        this.key = new SecretKeySpec(signingSecret, "HmacSHA256");
        this.clock = clock;
    }

    /** Returns quietly when genuine; else throws a 401 problem saying what was wrong (never the expected value). */
    void verify(String timestamp, String signature, byte[] body) {
        if (timestamp == null || signature == null)
            throw refused("slack-signature-missing", "X-Slack-Request-Timestamp and X-Slack-Signature are required");
        long seconds = seconds(timestamp);
        long age = clock.instant().getEpochSecond() - seconds;
        if (Math.abs(age) > TOLERANCE.toSeconds())
            throw refused(
                    "slack-signature-stale",
                    "the request's timestamp is " + Math.abs(age) + " s " + (age > 0 ? "old" : "ahead") + "; at most "
                            + TOLERANCE.toSeconds() + " s either way are accepted");
        byte[] expected = ("v0=" + HexFormat.of().formatHex(mac(timestamp, body))).getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(expected, signature.getBytes(StandardCharsets.US_ASCII)))
            throw refused("slack-signature-invalid", "the X-Slack-Signature does not verify");
    }

    private byte[] mac(String timestamp, byte[] body) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(key);
            m.update(("v0:" + timestamp + ":").getBytes(StandardCharsets.UTF_8));
            return m.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable", e);
        }
    }

    private static long seconds(String timestamp) {
        if (timestamp.isEmpty() || timestamp.length() > 12 || !timestamp.chars().allMatch(c -> c >= '0' && c <= '9'))
            throw refused("slack-signature-invalid", "X-Slack-Request-Timestamp is not a number of seconds");
        return Long.parseLong(timestamp);
    }

    /** The 401 problem; logged too, since Slack shows the clicking user nothing (the detail holds no secret). */
    private static Problem.Thrown refused(String slug, String detail) {
        LOG.warn(
                "401 {} on a Slack interaction: {} (check channels.slack.signing_secret and the server's clock)",
                slug,
                detail);
        return new Problem(401, slug, "Slack request not verified", detail).thrown();
    }
}
