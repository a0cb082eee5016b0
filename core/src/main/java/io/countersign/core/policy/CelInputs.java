package io.countersign.core.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.NullValue;
import com.google.protobuf.Timestamp;
import dev.cel.runtime.CelVariableResolver;
import io.countersign.core.ActionRequest;
import io.countersign.core.Principal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The variables a match sees. Every documented field is always present (empty string, list or map
 * when not given) so that rules can compare without {@code has()} guards; only {@code
 * action.params} and {@code context} hold exactly what the agent sent.
 */
final class CelInputs {
    private CelInputs() {}

    /**
     * The variables as a resolver built once per decision: CEL copies a plain Map into a fresh
     * activation on every evaluation, a resolver it only asks.
     */
    static CelVariableResolver resolver(Principal requester, ActionRequest request, Instant now) {
        Map<String, Optional<Object>> found = new HashMap<>(8);
        of(requester, request, now).forEach((name, value) -> found.put(name, Optional.of(value)));
        return name -> found.getOrDefault(name, Optional.empty());
    }

    static Map<String, Object> of(Principal requester, ActionRequest request, Instant now) {
        Map<String, Object> vars = new HashMap<>(8);
        vars.put("requester", requester(requester, request.onBehalfOf()));
        vars.put(
                "action",
                Map.of(
                        "type",
                        request.action().type(),
                        "params",
                        value(request.action().params())));
        vars.put(
                "resource",
                Map.of(
                        "type", request.resource().type(),
                        "id", request.resource().id(),
                        "env", request.resource().env(),
                        "tags", request.resource().tags(),
                        "domain", request.resource().domain()));
        vars.put("context", value(request.context()));
        vars.put(
                "now",
                Timestamp.newBuilder()
                        .setSeconds(now.getEpochSecond())
                        .setNanos(now.getNano())
                        .build());
        return vars;
    }

    private static Map<String, Object> requester(Principal p, String onBehalfOf) {
        Map<String, Object> m = new HashMap<>(16);
        m.put("id", p.id());
        m.put("kind", p.kind().wire());
        m.put("groups", List.copyOf(p.groups()));
        m.put("owner", orEmpty(p.owner()));
        m.put("model", orEmpty(p.model()));
        m.put("risk_tier", orEmpty(p.riskTier()));
        m.put("on_behalf_of", orEmpty(onBehalfOf));
        m.put("attributes", p.attributes());
        return m;
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }

    /**
     * JSON as CEL values: objects to maps, arrays to lists, integers that fit a long to int, other
     * numbers to double (an integer beyond a long must not be truncated to its low 64 bits).
     */
    static Object value(JsonNode node) {
        return switch (node.getNodeType()) {
            case OBJECT -> {
                Map<String, Object> m = new HashMap<>(Math.max(4, node.size() * 2));
                for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    m.put(e.getKey(), value(e.getValue()));
                }
                yield m;
            }
            case ARRAY -> {
                List<Object> l = new ArrayList<>(node.size());
                node.forEach(n -> l.add(value(n)));
                yield l;
            }
            case STRING -> node.textValue();
            case BOOLEAN -> node.booleanValue();
            case NUMBER ->
                node.isIntegralNumber() && node.canConvertToLong()
                        ? (Object) node.longValue()
                        : (Object) node.doubleValue();
            default -> NullValue.NULL_VALUE;
        };
    }
}
