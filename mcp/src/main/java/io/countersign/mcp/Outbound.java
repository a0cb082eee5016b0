package io.countersign.mcp;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** Where the gateway's messages to the agent go: a request's own stream, or the session's. */
@FunctionalInterface
public interface Outbound {
    /** Sends one message to the agent; must not block for long. */
    void send(ObjectNode message);

    /**
     * Whether the agent still waits for this answer. Where a dropped connection is the agent's
     * cancellation (the stateless revision over HTTP), this may write a keep-alive to find out;
     * elsewhere the answer is always yes.
     */
    default boolean stillThere() {
        return true;
    }

    /** Drops everything: for a session that has no stream open. */
    Outbound NOWHERE = m -> {};
}
