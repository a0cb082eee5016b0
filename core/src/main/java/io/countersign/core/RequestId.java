package io.countersign.core;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.time.Instant;
import java.util.random.RandomGenerator;

/**
 * A request's id: {@code req_} and 26 Crockford base32 characters, a 48-bit millisecond timestamp
 * then 80 random bits, so ids sort by creation time.
 */
public record RequestId(String value) implements Comparable<RequestId> {
    private static final char[] CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();
    /** Which ASCII characters are Crockford base32 digits as ids write them (upper case; no I, L, O, U). */
    private static final boolean[] DIGIT = new boolean[128];

    static {
        for (char c : CROCKFORD) DIGIT[c] = true;
    }

    public RequestId {
        if (!wellFormed(value)) throw new MalformedIdException(value);
    }

    /** Whether {@code s} is {@code req_} and 26 Crockford base32 characters (checked by hand: ids are made and read on every request). */
    private static boolean wellFormed(String s) {
        if (s == null || s.length() != 30 || !s.startsWith("req_")) return false;
        for (int i = 4; i < 30; i++) {
            char c = s.charAt(i);
            if (c >= 128 || !DIGIT[c]) return false;
        }
        return true;
    }

    @JsonCreator
    public static RequestId parse(String value) {
        return new RequestId(value);
    }

    public static RequestId generate(Instant now, RandomGenerator random) {
        // 128 bits as two longs: hi = time(48) | random(16), lo = random(64); written 5 bits at a
        // time from the bottom while the pair shifts right (the top 2 of the 130 written bits are 0).
        long hi = (now.toEpochMilli() & 0xFFFF_FFFF_FFFFL) << 16 | (random.nextLong() & 0xFFFFL);
        long lo = random.nextLong();
        char[] out = new char[26];
        for (int i = 25; i >= 0; i--) {
            out[i] = CROCKFORD[(int) (lo & 31)];
            lo = lo >>> 5 | hi << 59;
            hi >>>= 5;
        }
        return new RequestId("req_" + new String(out));
    }

    @JsonValue
    @Override
    public String value() {
        return value;
    }

    @Override
    public int compareTo(RequestId o) {
        return value.compareTo(o.value);
    }

    @Override
    public String toString() {
        return value;
    }

    /** The text is not a request id. */
    public static final class MalformedIdException extends CountersignException {
        MalformedIdException(String value) {
            super("not a request id: '" + (value == null ? "" : value.substring(0, Math.min(64, value.length())))
                    + "' (expected req_ and 26 base32 characters)");
        }
    }
}
