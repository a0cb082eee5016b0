package io.countersign.core.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.NullValue;
import com.google.protobuf.Timestamp;
import dev.cel.runtime.CelVariableResolver;
import io.countersign.core.ActionRequest;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The variables a match sees, for one decision. Every documented field is always present (empty
 * string, list or map when not given) so that rules can compare without {@code has()} guards; only
 * {@code action.params} and {@code context} hold exactly what the agent sent.
 *
 * <p>A variable is converted to CEL values the first time a rule asks for it and kept for the rest
 * of the decision, so that a decision whose rules never read {@code context} never converts it.
 * Not thread-safe: one instance per decision, on the deciding thread.
 */
final class CelInputs implements CelVariableResolver {
    private static final Map<PrincipalKind, String> KIND_WIRE = kindWire();

    private final Principal requester;
    private final ActionRequest request;
    private final Instant now;
    private Optional<Object> requesterVar;
    private Optional<Object> actionVar;
    private Optional<Object> resourceVar;
    private Optional<Object> contextVar;
    private Optional<Object> nowVar;

    CelInputs(Principal requester, ActionRequest request, Instant now) {
        this.requester = requester;
        this.request = request;
        this.now = now;
    }

    /**
     * The fields that hold a string (or a list of strings) for every request: what a {@link Guard}
     * may read without CEL. The CEL variables are built from {@link #text} and {@link #value} too,
     * so a guard and CEL always see the same value.
     */
    enum Field {
        ACTION_TYPE("action", "type"),
        RESOURCE_TYPE("resource", "type"),
        RESOURCE_ID("resource", "id"),
        RESOURCE_ENV("resource", "env"),
        RESOURCE_TAGS("resource", "tags"),
        RESOURCE_DOMAIN("resource", "domain"),
        REQUESTER_ID("requester", "id"),
        REQUESTER_KIND("requester", "kind"),
        REQUESTER_GROUPS("requester", "groups"),
        REQUESTER_OWNER("requester", "owner"),
        REQUESTER_MODEL("requester", "model"),
        REQUESTER_RISK_TIER("requester", "risk_tier"),
        REQUESTER_ON_BEHALF_OF("requester", "on_behalf_of");

        private static final Field[] ALL = values();

        final String variable;
        final String key;

        Field(String variable, String key) {
            this.variable = variable;
            this.key = key;
        }

        /** Whether the value is a list of strings ({@code tags}, {@code groups}) rather than a string. */
        boolean isList() {
            return this == RESOURCE_TAGS || this == REQUESTER_GROUPS;
        }

        /** The field {@code variable.key}, if it is one of these. */
        static Optional<Field> of(String variable, String key) {
            for (Field f : ALL) {
                if (f.variable.equals(variable) && f.key.equals(key)) return Optional.of(f);
            }
            return Optional.empty();
        }
    }

    /** The variables that are always a map from JSON: a {@link Guard} may test them for a key. */
    enum JsonObject {
        ACTION_PARAMS,
        CONTEXT
    }

    /**
     * The value of {@code key} in the map {@code object}, or null when it is missing (a JSON null is
     * there: CEL's {@code has()} is true of it).
     */
    JsonNode json(JsonObject object, String key) {
        JsonNode node = object == JsonObject.ACTION_PARAMS ? request.action().params() : request.context();
        return node.get(key);
    }

    /** The string {@code field} holds for this decision. */
    String text(Field field) {
        return switch (field) {
            case ACTION_TYPE -> request.action().type();
            case RESOURCE_TYPE -> request.resource().type();
            case RESOURCE_ID -> request.resource().id();
            case RESOURCE_ENV -> request.resource().env();
            case RESOURCE_DOMAIN -> request.resource().domain();
            case REQUESTER_ID -> requester.id();
            case REQUESTER_KIND -> KIND_WIRE.get(requester.kind());
            case REQUESTER_OWNER -> orEmpty(requester.owner());
            case REQUESTER_MODEL -> orEmpty(requester.model());
            case REQUESTER_RISK_TIER -> orEmpty(requester.riskTier());
            case REQUESTER_ON_BEHALF_OF -> orEmpty(request.onBehalfOf());
            case RESOURCE_TAGS, REQUESTER_GROUPS -> throw new IllegalArgumentException(field + " is a list");
        };
    }

    /** Whether the list {@code field} holds for this decision contains {@code element}. */
    boolean listContains(Field field, String element) {
        return switch (field) {
            case RESOURCE_TAGS -> request.resource().tags().contains(element);
            case REQUESTER_GROUPS -> requester.groups().contains(element);
            default -> throw new IllegalArgumentException(field + " is not a list");
        };
    }

    /** What CEL sees for {@code field}: its string, or for a list field an immutable list. */
    private Object value(Field field) {
        return switch (field) {
            case RESOURCE_TAGS -> request.resource().tags();
            case REQUESTER_GROUPS -> List.copyOf(requester.groups());
            default -> text(field);
        };
    }

    @Override
    public Optional<Object> find(String name) {
        return switch (name) {
            case "requester" -> requesterVar != null ? requesterVar : (requesterVar = Optional.of(fields("requester")));
            case "action" -> actionVar != null ? actionVar : (actionVar = Optional.of(action()));
            case "resource" -> resourceVar != null ? resourceVar : (resourceVar = Optional.of(fields("resource")));
            case "context" -> contextVar != null ? contextVar : (contextVar = Optional.of(value(request.context())));
            case "now" -> nowVar != null ? nowVar : (nowVar = Optional.of(timestamp(now)));
            default -> Optional.empty();
        };
    }

    private Map<String, Object> fields(String variable) {
        Map<String, Object> m = new HashMap<>(16);
        for (Field f : Field.ALL) {
            if (f.variable.equals(variable)) m.put(f.key, value(f));
        }
        if (variable.equals("requester")) m.put("attributes", requester.attributes());
        return m;
    }

    private Map<String, Object> action() {
        Map<String, Object> m = new HashMap<>(4);
        m.put("type", text(Field.ACTION_TYPE));
        m.put("params", value(request.action().params()));
        return m;
    }

    private static Timestamp timestamp(Instant now) {
        return Timestamp.newBuilder()
                .setSeconds(now.getEpochSecond())
                .setNanos(now.getNano())
                .build();
    }

    private static Map<PrincipalKind, String> kindWire() {
        Map<PrincipalKind, String> wire = new EnumMap<>(PrincipalKind.class);
        for (PrincipalKind k : PrincipalKind.values()) wire.put(k, k.wire());
        return wire;
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
