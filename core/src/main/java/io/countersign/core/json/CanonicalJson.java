package io.countersign.core.json;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;

/**
 * The JSON Canonicalization Scheme (RFC 8785): the one byte form of a JSON value that digests and
 * ledger leaves are computed over.
 *
 * <p>Design notes. Objects are written with their members sorted by the UTF-16 code units of their
 * names ({@link String#compareTo} is exactly that order); strings with the minimal ECMAScript
 * escapes; numbers as IEEE-754 doubles in ECMAScript's {@code Number.prototype.toString} form.
 * Java's {@link Double#toString} gives the shortest round-tripping digits since JDK 19, so only
 * the layout of those digits needs translating. Integers beyond ±2^53 cannot be represented
 * exactly as I-JSON numbers and are refused rather than silently rounded: a digest must never
 * cover a value other than the one the client sent.
 *
 * <p>Every digest, ledger leaf and the hashes inside its events are made here, for every request;
 * so the common case is kept cheap: a string with nothing to escape is copied whole, an integer that
 * fits a long is written without {@link BigInteger}, and an object's members are sorted in an array
 * rather than a list of copies. A leaf carries its own index, which only the store's single writer
 * can give; {@link #slot} canonicalises the rest on the caller's thread, so that the writer, whose
 * every microsecond all writers wait for, only splices the number in.
 */
public final class CanonicalJson {
    private static final long MAX_SAFE_INTEGER = 9_007_199_254_740_992L; // 2^53
    private static final char[] HEX = "0123456789abcdef".toCharArray();
    private static final Comparator<Map.Entry<String, JsonNode>> BY_NAME = Map.Entry.comparingByKey();
    private static final JsonMapper STRICT = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private CanonicalJson() {}

    /** The mapper used to read client JSON: rejects duplicate member names and trailing tokens. */
    public static ObjectMapper strictMapper() {
        return STRICT;
    }

    /** The canonical form of {@code value} as a string. */
    public static String canonicalize(JsonNode value) {
        StringBuilder out = new StringBuilder(1024); // a ledger leaf, about 600 bytes, without growing
        write(value, out);
        return out.toString();
    }

    /**
     * The canonical form of {@code object} with one more member, {@code name}, whose integer value is
     * filled in later: {@code slot.with(v)} is exactly {@code canonicalize(object)} with {@code name:
     * v} put in it (a member already called {@code name} is replaced). The ledger's single sequencer
     * gives each leaf its index, so a leaf is canonicalised ahead of its write, off the writer thread,
     * and only the index is spliced in there.
     */
    public static Slot slot(ObjectNode object, String name) {
        StringBuilder out = new StringBuilder(1024);
        int at = -1;
        boolean first = true;
        out.append('{');
        for (Map.Entry<String, JsonNode> member : sortedMembers(object)) {
            int order = member.getKey().compareTo(name);
            if (order == 0) continue;
            if (order > 0 && at < 0) {
                at = slotAt(out, name, first);
                first = false;
            }
            if (!first) out.append(',');
            first = false;
            writeString(member.getKey(), out);
            out.append(':');
            write(member.getValue(), out);
        }
        if (at < 0) at = slotAt(out, name, first);
        out.append('}');
        return new Slot(out.substring(0, at), out.substring(at));
    }

    /** Writes the open member's name; its value goes where this returns. */
    private static int slotAt(StringBuilder out, String name, boolean first) {
        if (!first) out.append(',');
        writeString(name, out);
        out.append(':');
        return out.length();
    }

    /**
     * A canonical object with one integer member left open ({@link #slot}).
     *
     * @param before the text up to the member's value
     * @param after the text from just after the member's value, starting with {@code ,} or {@code }}
     */
    public record Slot(String before, String after) {
        public Slot {
            Objects.requireNonNull(before, "before");
            Objects.requireNonNull(after, "after");
        }

        /** The canonical text with {@code value} in the slot; within ±2^53, as canonical numbers are. */
        public String with(long value) {
            if (value < -MAX_SAFE_INTEGER || value > MAX_SAFE_INTEGER) {
                throw new NotCanonicalizableException(
                        "integer " + value + " is outside the exactly representable range ±2^53 (I-JSON)");
            }
            return before + value + after;
        }
    }

    /** The canonical form of {@code value} as UTF-8 bytes. */
    public static byte[] canonicalBytes(JsonNode value) {
        return canonicalize(value).getBytes(StandardCharsets.UTF_8);
    }

    /** Lower-case hex SHA-256 of the canonical form of {@code value}. */
    public static String sha256Hex(JsonNode value) {
        return HexFormat.of().formatHex(sha256(canonicalBytes(value)));
    }

    /** SHA-256 of {@code bytes}. */
    public static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK provides SHA-256", e);
        }
    }

    private static void write(JsonNode node, StringBuilder out) {
        switch (node.getNodeType()) {
            case OBJECT -> writeObject(node, out);
            case ARRAY -> writeArray(node, out);
            case STRING -> writeString(node.textValue(), out);
            case NUMBER -> writeNumber(node, out);
            case BOOLEAN -> out.append(node.booleanValue());
            case NULL -> out.append("null");
            default -> throw new NotCanonicalizableException("JSON cannot hold a " + node.getNodeType());
        }
    }

    private static Map.Entry<String, JsonNode>[] sortedMembers(JsonNode node) {
        @SuppressWarnings("unchecked")
        Map.Entry<String, JsonNode>[] members = node.properties().toArray(new Map.Entry[0]);
        Arrays.sort(members, BY_NAME);
        return members;
    }

    private static void writeObject(JsonNode node, StringBuilder out) {
        Map.Entry<String, JsonNode>[] members = sortedMembers(node);
        out.append('{');
        for (int i = 0; i < members.length; i++) {
            if (i > 0) out.append(',');
            writeString(members[i].getKey(), out);
            out.append(':');
            write(members[i].getValue(), out);
        }
        out.append('}');
    }

    private static void writeArray(JsonNode node, StringBuilder out) {
        out.append('[');
        for (int i = 0; i < node.size(); i++) {
            if (i > 0) out.append(',');
            write(node.get(i), out);
        }
        out.append(']');
    }

    static void writeString(String s, StringBuilder out) {
        out.append('"');
        int plain = plainPrefix(s);
        out.append(s, 0, plain);
        if (plain < s.length()) writeEscaped(s, plain, out);
        out.append('"');
    }

    /** The length of the longest prefix of {@code s} that is written as it is (no escape, no surrogate). */
    private static int plainPrefix(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == '"' || c == '\\' || Character.isSurrogate(c)) return i;
        }
        return s.length();
    }

    private static void writeEscaped(String s, int from, StringBuilder out) {
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xf]);
                    } else {
                        requireNotLoneSurrogate(s, i);
                        out.append(c);
                    }
                }
            }
        }
    }

    private static void requireNotLoneSurrogate(String s, int i) {
        char c = s.charAt(i);
        boolean lone =
                Character.isHighSurrogate(c) && (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1)))
                        || Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1)));
        if (lone) {
            throw new NotCanonicalizableException("string holds a lone surrogate at index " + i);
        }
    }

    private static void writeNumber(JsonNode node, StringBuilder out) {
        if (node.isIntegralNumber() && node.canConvertToLong()) {
            long v = node.longValue();
            if (-MAX_SAFE_INTEGER <= v && v <= MAX_SAFE_INTEGER) {
                out.append(v);
                return;
            }
        }
        out.append(number(node));
    }

    private static String number(JsonNode node) {
        if (node.isIntegralNumber()) {
            BigInteger v = node.bigIntegerValue();
            if (v.abs().compareTo(BigInteger.valueOf(MAX_SAFE_INTEGER)) > 0) {
                // Exactly the canonical text of a double (such as 1e+20 written out): canonical output
                // must read back, and the client sent this very text, so nothing is rounded.
                if (formatDouble(v.doubleValue()).equals(v.toString())) return v.toString();
                throw new NotCanonicalizableException(
                        "integer " + v + " is outside the exactly representable range ±2^53 (I-JSON)");
            }
            return v.toString();
        }
        return formatDouble(node.doubleValue());
    }

    /** ECMAScript's Number.prototype.toString for a finite double (RFC 8785 section 3.2.2.3). */
    public static String formatDouble(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            throw new NotCanonicalizableException("JSON numbers are finite; got " + d);
        }
        if (d == 0) return "0";
        BigDecimal shortest = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        if (shortest.precision() == 2) shortest = oneDigitIfItRoundTrips(shortest, Math.abs(d));
        String digits = shortest.unscaledValue().toString();
        int k = digits.length();
        int n = k - shortest.scale();
        String sign = d < 0 ? "-" : "";
        return sign + layout(digits, k, n);
    }

    /**
     * Double.toString never prints fewer than two digits (4.9E-324 for Double.MIN_VALUE) where
     * ECMAScript prints one when one round-trips (5e-324): of the one-digit neighbours of the
     * two-digit form that read back as {@code abs}, the one closest to it.
     */
    private static BigDecimal oneDigitIfItRoundTrips(BigDecimal twoDigits, double abs) {
        BigDecimal exact = new BigDecimal(abs);
        BigDecimal best = null;
        for (RoundingMode mode : new RoundingMode[] {RoundingMode.FLOOR, RoundingMode.CEILING}) {
            BigDecimal candidate = twoDigits.round(new MathContext(1, mode));
            boolean roundTrips = Double.parseDouble(candidate.toString()) == abs;
            if (roundTrips && (best == null || distance(candidate, exact).compareTo(distance(best, exact)) < 0)) {
                best = candidate;
            }
        }
        return best == null ? twoDigits : best.stripTrailingZeros();
    }

    private static BigDecimal distance(BigDecimal a, BigDecimal b) {
        return a.subtract(b).abs();
    }

    private static String layout(String s, int k, int n) {
        if (k <= n && n <= 21) return s + "0".repeat(n - k);
        if (0 < n && n <= 21) return s.substring(0, n) + "." + s.substring(n);
        if (-6 < n && n <= 0) return "0." + "0".repeat(-n) + s;
        int e = n - 1;
        String exponent = "e" + (e < 0 ? "-" : "+") + Math.abs(e);
        return k == 1 ? s + exponent : s.charAt(0) + "." + s.substring(1) + exponent;
    }
}
