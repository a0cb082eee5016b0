package io.countersign.core;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.spi.RequestStore;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Tool pinning: the defence against an MCP server that swaps a tool's meaning after it was trusted.
 *
 * <p>The first definition seen of a tool is trusted and pinned by hash ({@code mcp.tool_pinned}). A
 * later, different definition is recorded ({@code mcp.tool_changed}) and becomes an action request
 * of type {@code mcp.tool_definition} that policy decides like any other: allowed, it is trusted at
 * once; held for approval, the tool is blocked until people approve it; denied, it stays blocked.
 * Once trusted, the grant is redeemed and {@code mcp.tool_repinned} names the request that trusted it.
 * An upstream that goes back to the pinned definition is trusted again without asking.
 */
public final class ToolPins {
    /** The action type of a request to trust a changed tool definition. */
    public static final String DEFINITION_ACTION = "mcp.tool_definition";

    private final RequestStore store;
    private final RequestService service;
    private final Clock clock;

    public ToolPins(RequestStore store, RequestService service, Clock clock) {
        this.store = Objects.requireNonNull(store);
        this.service = Objects.requireNonNull(service);
        this.clock = Objects.requireNonNull(clock);
    }

    /** Whether calls to a tool may go ahead. */
    public sealed interface Status {
        /** The listed definition is the trusted one. */
        record Trusted() implements Status {}

        /**
         * The listed definition is not trusted.
         *
         * @param reason why, for the agent
         * @param request the request that asks to trust it
         */
        record Blocked(String reason, RequestId request) implements Status {}
    }

    /**
     * One tool as an upstream lists it.
     *
     * @param tool its name
     * @param sha256 hex SHA-256 of its definition's canonical JSON
     * @param definition name, description and input schema: the params of a re-approval request
     * @param resource the resource its calls act on (type {@code mcp_tool}, id {@code upstream/tool})
     */
    public record Listed(String tool, String sha256, ObjectNode definition, Resource resource) {}

    /** Checks what {@code upstream} lists against its pins, on behalf of the agent {@code seenBy}. */
    public Map<String, Status> check(String upstream, List<Listed> listed, Principal seenBy) {
        Map<String, ToolPin> pins = store.toolPins(upstream);
        Map<String, Status> out = new LinkedHashMap<>();
        List<Listed> unseen = new ArrayList<>();
        for (Listed l : listed) {
            ToolPin pin = pins.get(l.tool());
            if (pin == null) {
                unseen.add(l);
                out.put(l.tool(), new Status.Trusted());
            } else if (pin.sha256().equals(l.sha256())) out.put(l.tool(), new Status.Trusted());
            else if (l.sha256().equals(pin.pendingSha256()) && pin.pendingRequest() != null)
                out.put(l.tool(), resolve(pin, l, seenBy));
            else out.put(l.tool(), changed(pin, l, seenBy));
        }
        if (!unseen.isEmpty()) pinFirst(upstream, unseen);
        return out;
    }

    /** Trusts every tool seen for the first time, in one write: a first listing is one transaction. */
    private void pinFirst(String upstream, List<Listed> unseen) {
        Instant now = clock.instant();
        store.write(tx -> {
            for (Listed l : unseen) {
                if (tx.toolPin(upstream, l.tool()).isPresent()) continue; // another session got there first
                tx.putToolPin(new ToolPin(upstream, l.tool(), l.sha256(), null, null, now));
                tx.append(SystemEvents.toolPinned(upstream, l.tool(), l.sha256(), now));
            }
            return null;
        });
    }

    private Status changed(ToolPin pin, Listed l, Principal seenBy) {
        Instant now = clock.instant();
        store.write(tx -> {
            tx.append(SystemEvents.toolChanged(pin.upstream(), pin.tool(), pin.sha256(), l.sha256(), now));
            return null;
        });
        ActionRequest ask = new ActionRequest(
                new Action(DEFINITION_ACTION, definitionParams(pin, l)),
                l.resource(),
                "the MCP server " + pin.upstream() + " changed the definition of its tool " + pin.tool()
                        + " since it was trusted",
                null,
                JsonNodeFactory.instance.objectNode());
        Request r = service.submitOrResume(seenBy, ask).request();
        if (r.state() == RequestState.APPROVED) return trust(pin, l, r);
        store.write(tx -> {
            tx.putToolPin(pin.awaiting(l.sha256(), r.id(), now));
            return null;
        });
        return blocked(pin, r);
    }

    private Status resolve(ToolPin pin, Listed l, Principal seenBy) {
        Request r = store.find(pin.pendingRequest()).orElse(null);
        if (r == null) return changed(pin, l, seenBy);
        return switch (r.state()) {
            case APPROVED, EXECUTED -> trust(pin, l, r);
            case PENDING, DENIED, REVOKED -> blocked(pin, r);
            case EXPIRED, CANCELLED, FAILED -> changed(pin, l, seenBy);
        };
    }

    private Status trust(ToolPin pin, Listed l, Request r) {
        if (r.state() == RequestState.APPROVED && !r.grant().isRedeemed()) {
            try {
                service.redeem(r.id(), r.requester(), r.digest());
            } catch (RefusedException e) { // revoked or expired a moment ago: not trusted
                return blocked(pin, store.find(r.id()).orElse(r));
            }
        }
        Instant now = clock.instant();
        store.write(tx -> {
            tx.putToolPin(pin.trusting(l.sha256(), now));
            tx.append(SystemEvents.toolRepinned(pin.upstream(), pin.tool(), l.sha256(), r.id(), now));
            return null;
        });
        Request current = store.find(r.id()).orElse(r);
        if (current.state() == RequestState.APPROVED && current.grant().isRedeemed()) {
            service.reportOutcome(r.id(), r.requester(), Outcome.Status.EXECUTED, l.sha256(), "definition trusted");
        }
        return new Status.Trusted();
    }

    private static Status blocked(ToolPin pin, Request r) {
        String why = switch (r.state()) {
            case PENDING -> "its changed definition awaits re-approval (request " + r.id() + ")";
            case DENIED ->
                "re-approval of its changed definition was denied (request " + r.id() + ")"
                        + (r.decision() instanceof Decision.Deny d ? ": " + d.reason() : "");
            default ->
                "its changed definition is not trusted (request " + r.id() + " is "
                        + r.state().wire() + ")";
        };
        return new Status.Blocked(
                "The tool " + pin.tool() + " of " + pin.upstream() + " changed since it was trusted; " + why + ".",
                r.id());
    }

    private static ObjectNode definitionParams(ToolPin pin, Listed l) {
        ObjectNode p = JsonNodeFactory.instance.objectNode();
        p.put("sha256", l.sha256());
        p.put("previous_sha256", pin.sha256());
        p.set("definition", l.definition());
        return p;
    }
}
