package io.countersign.core;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.JsonDepth;
import java.util.Objects;

/**
 * What an agent submits: the action, the resource it acts on, why, on whose behalf, and context.
 *
 * @param action the action and its parameters
 * @param resource what it acts on
 * @param justification the agent's reason, shown to reviewers
 * @param onBehalfOf the human this agent acts for, if any; never an approver of this request
 * @param context trace id, pipeline, triggering event: shown to reviewers, not covered by the digest
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ActionRequest(
        Action action, Resource resource, String justification, String onBehalfOf, ObjectNode context) {
    public ActionRequest {
        if (action == null) throw new InvalidRequestException("action", "is required");
        if (resource == null) throw new InvalidRequestException("resource", "is required");
        justification = InvalidRequestException.optionalText("justification", justification, 4000);
        if (onBehalfOf != null) {
            try {
                Principal.requireId("on_behalf_of", onBehalfOf);
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException("on_behalf_of", e.getMessage());
            }
        }
        context = context == null ? JsonNodeFactory.instance.objectNode() : context.deepCopy();
        Objects.requireNonNull(context);
    }

    /**
     * Refuses, at submission, params or context nested deeper than {@link JsonDepth#MAX} levels (see
     * there why). Not checked in the constructor, so that requests stored before the limit still load.
     */
    public void requireServableDepth() {
        Action.requireShallow("action.params", action.params());
        Action.requireShallow("context", context);
    }
}
