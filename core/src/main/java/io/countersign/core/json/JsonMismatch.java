package io.countersign.core.json;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.exc.InvalidNullException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.util.Collection;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Jackson's type mismatches, told in JSON's words for people who send or write JSON and YAML. */
public final class JsonMismatch {
    private static final Pattern TOKEN = Pattern.compile("JsonToken\\.([A-Z_]+)");
    /**
     * The value found, where Jackson's message names no token: a refused coercion ("Cannot coerce
     * Integer value (12) to `java.lang.String`") or a type with no constructor for it ("... to
     * deserialize from String value ('x')").
     */
    private static final Pattern SHAPE =
            Pattern.compile("(?:^Cannot coerce|from) (String value|empty String|Integer value|Number value|Float value"
                    + "|Floating-point value|Boolean value \\((true|false)\\))");

    private JsonMismatch() {}

    /**
     * What a value of the wrong JSON type should have been, in JSON's words: Jackson's own message
     * names Java types ("Cannot deserialize value of type `io.countersign.core.ActionRequest`").
     */
    public static String describe(MismatchedInputException e) {
        String original = e.getOriginalMessage();
        Class<?> t = e.getTargetType();
        if (t == null) return original;
        if (e instanceof InvalidNullException) return "expected " + wanted(t) + ", not null";
        if (original.startsWith("Cannot deserialize")) return "expected " + wanted(t) + token(original);
        if (!original.startsWith("Cannot coerce") && !original.startsWith("Cannot construct instance")) return original;
        String found = scalar(original);
        // Nothing found to name, or a value of the very type wanted (1.5 for an integer): Jackson's words.
        return found.isEmpty() || found.equals(", not " + wanted(t)) ? original : "expected " + wanted(t) + found;
    }

    private static String wanted(Class<?> t) {
        if (t == String.class || t.isEnum()) return "a string";
        if (t == Boolean.class || t == boolean.class) return "true or false";
        if (Number.class.isAssignableFrom(t) || (t.isPrimitive() && t != char.class)) return "a number";
        if (t.isArray() || Collection.class.isAssignableFrom(t) || ArrayNode.class.isAssignableFrom(t))
            return "an array";
        return "an object";
    }

    /** The token it found, as Jackson's message names it: "... from Array value (token `JsonToken.START_ARRAY`)". */
    private static String token(String original) {
        Matcher m = TOKEN.matcher(original);
        JsonToken got = null;
        if (m.find()) {
            try {
                got = JsonToken.valueOf(m.group(1));
            } catch (IllegalArgumentException unknown) {
                got = null;
            }
        }
        return got == null
                ? ""
                : switch (got) {
                    case START_OBJECT -> ", not an object";
                    case START_ARRAY -> ", not an array";
                    case VALUE_STRING -> ", not a string";
                    case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> ", not a number";
                    case VALUE_TRUE, VALUE_FALSE -> ", not " + got.asString();
                    case VALUE_NULL -> ", not null";
                    default -> "";
                };
    }

    /** The scalar a refused coercion or construction found, as {@link #SHAPE} reads it; empty if none. */
    private static String scalar(String original) {
        Matcher m = SHAPE.matcher(original);
        if (!m.find()) return "";
        if (m.group(2) != null) return ", not " + m.group(2);
        return m.group(1).contains("String") ? ", not a string" : ", not a number";
    }
}
