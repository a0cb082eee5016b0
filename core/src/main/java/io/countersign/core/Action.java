package io.countersign.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.JsonDepth;
import java.util.regex.Pattern;

/**
 * What an agent wants to do.
 *
 * @param type a dotted action type such as {@code db.export}, {@code iam.grant}, {@code mcp.tool}
 * @param params the action's parameters, covered by the digest exactly as sent
 */
public record Action(String type, ObjectNode params) {
    private static final Pattern TYPE = Pattern.compile("[a-z][a-z0-9_-]*(\\.[a-z0-9_-]+)*");

    public Action {
        if (type == null || type.length() > 128 || !TYPE.matcher(type).matches()) {
            throw new InvalidRequestException(
                    "action.type", "must be a lower-case dotted name such as db.export; got '" + type + "'");
        }
        params = params == null ? JsonNodeFactory.instance.objectNode() : params.deepCopy();
    }

    /** Refuses a value nested deeper than {@link JsonDepth#MAX} levels. */
    static void requireShallow(String field, JsonNode value) {
        int depth = JsonDepth.of(value);
        if (depth > JsonDepth.MAX)
            throw new InvalidRequestException(
                    field, "nests " + depth + " levels deep; at most " + JsonDepth.MAX + " are accepted");
    }
}
