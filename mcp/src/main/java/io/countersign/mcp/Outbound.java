package io.countersign.mcp;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** Where the gateway's messages to the agent go: a request's own stream, or the session's. */
@FunctionalInterface
public interface Outbound {
    /** Sends one message to the agent; must not block for long. */
    void send(ObjectNode message);

    /** Drops everything: for a session that has no stream open. */
    Outbound NOWHERE = m -> {};
}
