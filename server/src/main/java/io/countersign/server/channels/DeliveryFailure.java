package io.countersign.server.channels;

import java.time.Duration;

/**
 * A delivery that did not go through. Its message is stored with the delivery and shown through the
 * API, so it names what failed (an HTTP status, a Slack error code) and never a secret or a URL.
 */
public final class DeliveryFailure extends Exception {
    private final boolean retryable;
    private final Duration retryAfter;

    private DeliveryFailure(String message, boolean retryable, Duration retryAfter) {
        super(message, null, false, false);
        this.retryable = retryable;
        this.retryAfter = retryAfter;
    }

    /** Worth trying again later (a timeout, a 5xx, a refused connection). */
    public static DeliveryFailure retry(String message) {
        return new DeliveryFailure(message, true, Duration.ZERO);
    }

    /** Worth trying again, not before {@code after} (a 429 with Retry-After). */
    public static DeliveryFailure retryAfter(String message, Duration after) {
        return new DeliveryFailure(message, true, after);
    }

    /** Will fail the same way every time (a 4xx, a channel that is gone): give up now. */
    public static DeliveryFailure permanent(String message) {
        return new DeliveryFailure(message, false, Duration.ZERO);
    }

    /** The wait an HTTP peer asked for with {@code Retry-After: <seconds>} (at most an hour), or zero. */
    static Duration requestedWait(java.net.http.HttpResponse<?> res) {
        return res.headers()
                .firstValue("retry-after")
                .map(v -> {
                    try {
                        return Duration.ofSeconds(Math.min(3600, Math.max(0, Long.parseLong(v.strip()))));
                    } catch (NumberFormatException e) {
                        return Duration.ZERO;
                    }
                })
                .orElse(Duration.ZERO);
    }

    public boolean retryable() {
        return retryable;
    }

    /** The least wait the peer asked for. */
    public Duration retryAfter() {
        return retryAfter;
    }
}
