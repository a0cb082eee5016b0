package io.countersign.core.json;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.util.Collection;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Jackson's type mismatches, told in JSON's words for people who send or write JSON and YAML. */
public final class JsonMismatch {
    private static final Pattern TOKEN = Pattern.compile("JsonToken\\.([A-Z_]+)");

    private JsonMismatch() {}

    /**
     * What a value of the wrong JSON type should have been, in JSON's words: Jackson's own message
     * names Java types ("Cannot deserialize value of type `io.countersign.core.ActionRequest`").
     */
    public static String describe(MismatchedInputException e) {
        String original = e.getOriginalMessage();
        if (!original.startsWith("Cannot deserialize") || e.getTargetType() == null) return original;
        Class<?> t = e.getTargetType();
        String want;
        if (t == String.class || t.isEnum()) want = "a string";
        else if (t == Boolean.class || t == boolean.class) want = "true or false";
        else if (Number.class.isAssignableFrom(t) || (t.isPrimitive() && t != char.class)) want = "a number";
        else if (t.isArray() || Collection.class.isAssignableFrom(t) || ArrayNode.class.isAssignableFrom(t))
            want = "an array";
        else want = "an object";
        // The token it found, as Jackson's message names it: "... from Array value (token `JsonToken.START_ARRAY`)".
        Matcher m = TOKEN.matcher(original);
        JsonToken got = null;
        if (m.find()) {
            try {
                got = JsonToken.valueOf(m.group(1));
            } catch (IllegalArgumentException unknown) {
                got = null;
            }
        }
        String was = got == null
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
        return "expected " + want + was;
    }
}
