package io.countersign.core;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What came of an approved action after its grant was redeemed.
 *
 * @param status executed or failed
 * @param resultSha256 hex SHA-256 of the result, as the executor computed it (the result itself is
 *     never stored)
 * @param detail a short human-readable note
 * @param at when it was reported
 */
public record Outcome(Status status, String resultSha256, String detail, Instant at) {
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

    public Outcome {
        if (status == null) throw new InvalidRequestException("status", "must be executed or failed");
        if (resultSha256 != null && !SHA256_HEX.matcher(resultSha256).matches()) {
            throw new InvalidRequestException("result_sha256", "must be 64 lower-case hex digits");
        }
        detail = InvalidRequestException.optionalText("detail", detail, 4000);
        Objects.requireNonNull(at, "at");
    }

    /** How the action ended. */
    public enum Status {
        EXECUTED,
        FAILED;

        @JsonValue
        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        @JsonCreator
        public static Status fromWire(String value) {
            for (Status s : values()) {
                if (s.wire().equals(value)) return s;
            }
            throw new IllegalArgumentException("status must be executed or failed; got '" + value + "'");
        }
    }
}
