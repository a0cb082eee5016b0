package io.countersign.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An upstream MCP server run as a child process, speaking newline-delimited JSON-RPC on its stdin
 * and stdout (the MCP stdio transport). Its stderr may hold anything, secrets included: it never
 * reaches the agent, and is logged (at debug level) only when the operator turned payload logging on. Closing it closes stdin, then terminates the process, then kills it.
 */
final class StdioUpstream implements UpstreamConnection {
    private static final Logger LOG = LoggerFactory.getLogger(StdioUpstream.class);

    private final McpConfig.Upstream upstream;
    private final Process process;
    private final OutputStream stdin;
    private final Listener listener;
    private final boolean logStderr;
    private volatile boolean open = true;

    private StdioUpstream(McpConfig.Upstream upstream, Process process, Listener listener, boolean logStderr) {
        this.upstream = upstream;
        this.logStderr = logStderr;
        this.process = process;
        this.stdin = process.getOutputStream();
        this.listener = listener;
        // Platform threads: a read from a pipe blocks in the kernel holding whatever thread runs it, and
        // on a virtual thread that is a carrier. The scheduler lends spares for a while, but once it has
        // retired them, two idle sessions' readers held both carriers of a 2-core machine and the
        // server answered nothing at all (ScarceCarriersTest).
        Thread.ofPlatform().daemon().name("mcp-" + upstream.name() + "-stdout").start(this::readStdout);
        Thread.ofPlatform().daemon().name("mcp-" + upstream.name() + "-stderr").start(this::readStderr);
    }

    static StdioUpstream start(McpConfig.Upstream upstream, Listener listener, boolean logStderr) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(upstream.command());
        Map<String, String> env = pb.environment();
        env.keySet().retainAll(McpConfig.INHERITED_ENVIRONMENT);
        env.putAll(upstream.environment());
        return new StdioUpstream(upstream, pb.start(), listener, logStderr);
    }

    @Override
    public void send(ObjectNode message) {
        byte[] line = (JsonRpc.write(message) + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            synchronized (stdin) {
                stdin.write(line);
                stdin.flush();
            }
        } catch (IOException e) {
            // The process is gone: the stdout reader reports it; a request gets its error here.
            if (JsonRpc.kind(message) == JsonRpc.Kind.REQUEST) {
                listener.received(JsonRpc.error(
                        message.get("id"),
                        JsonRpc.UPSTREAM_ERROR,
                        "the MCP server " + upstream.name() + " is not running: " + exitText()));
            }
        }
    }

    @Override
    public boolean isOpen() {
        return open && process.isAlive();
    }

    @Override
    public void close() {
        open = false;
        try {
            stdin.close();
        } catch (IOException e) {
            // already closed
        }
        try {
            if (!process.waitFor(500, TimeUnit.MILLISECONDS)) {
                process.destroy();
                if (!process.waitFor(2, TimeUnit.SECONDS)) process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Kills a hung process at once; the reader then reports it closed. */
    void kill() {
        open = false;
        process.destroyForcibly();
    }

    private void readStdout() {
        try (BufferedReader in =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) continue;
                JsonNode m;
                try {
                    m = JsonRpc.parse(line);
                } catch (JsonRpc.MalformedMessageException e) {
                    LOG.warn("MCP server {} wrote a line that is not JSON-RPC to stdout; ignored", upstream.name());
                    continue;
                }
                if (m instanceof ObjectNode o) listener.received(o);
            }
        } catch (IOException e) {
            LOG.debug("MCP server {}: stdout closed: {}", upstream.name(), e.getMessage());
        }
        open = false;
        listener.closed("the MCP server " + upstream.name() + " exited: " + exitText());
    }

    private void readStderr() {
        try (BufferedReader in =
                new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (logStderr) LOG.debug("MCP server {} stderr: {}", upstream.name(), line);
            }
        } catch (IOException e) {
            // the process is gone
        }
    }

    private String exitText() {
        try {
            if (!process.waitFor(1, TimeUnit.SECONDS)) return "it stopped answering";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "it stopped answering";
        }
        return "exit code " + process.exitValue();
    }
}
