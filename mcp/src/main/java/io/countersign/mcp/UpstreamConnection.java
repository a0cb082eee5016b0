package io.countersign.mcp;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** A connection to one upstream MCP server: a child process (stdio) or a Streamable HTTP session. */
interface UpstreamConnection extends AutoCloseable {
    /**
     * Sends one message. A request that cannot be delivered is answered, through the listener, by an
     * error response with its id; this method does not throw for the upstream's failures.
     */
    void send(ObjectNode message);

    /** False once the process has exited or the session has ended. */
    boolean isOpen();

    @Override
    void close();

    /** Where the upstream's messages go. Called from the connection's own (virtual) threads. */
    interface Listener {
        void received(ObjectNode message);

        /** The connection ended; {@code why} is safe to show the agent (no secrets, no payloads). */
        void closed(String why);
    }
}
