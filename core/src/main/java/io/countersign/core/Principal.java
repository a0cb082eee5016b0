package io.countersign.core;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * An authenticated identity.
 *
 * @param id stable identifier, unique across kinds
 * @param kind human, agent or service
 * @param groups the groups it belongs to (approval requirements name groups)
 * @param owner for agents: the human (or team) accountable for it; never an approver of its requests
 * @param model for agents: the model it runs, if known
 * @param riskTier for agents: a tier that policy may match on, if set
 * @param attributes free-form string attributes that policy may match on
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Principal(
        String id,
        PrincipalKind kind,
        Set<String> groups,
        String owner,
        String model,
        String riskTier,
        Map<String, String> attributes) {

    static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}");

    public Principal {
        requireId("id", id);
        Objects.requireNonNull(kind, "kind");
        groups = Sorted.of(groups);
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
        if (owner != null) requireId("owner", owner);
        if (kind == PrincipalKind.AGENT && owner == null) {
            throw new IllegalArgumentException("agent '" + id + "' needs an owner");
        }
        if (kind != PrincipalKind.AGENT && (owner != null || model != null || riskTier != null)) {
            throw new IllegalArgumentException(
                    "owner, model and risk_tier are for agents; '" + id + "' is a " + kind.wire());
        }
    }

    public static Principal human(String id, Set<String> groups) {
        return new Principal(id, PrincipalKind.HUMAN, groups, null, null, null, Map.of());
    }

    public static Principal agent(String id, String owner) {
        return new Principal(id, PrincipalKind.AGENT, Set.of(), owner, null, null, Map.of());
    }

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isHuman() {
        return kind == PrincipalKind.HUMAN;
    }

    static void requireId(String field, String value) {
        if (value == null || !ID.matcher(value).matches()) {
            throw new IllegalArgumentException(field + " must be 1-128 characters of letters, digits and ._@:+- "
                    + "starting with a letter or digit; got '" + value + "'");
        }
    }
}
