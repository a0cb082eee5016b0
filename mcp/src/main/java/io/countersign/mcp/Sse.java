package io.countersign.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import java.util.function.Predicate;

/** Reads a Server-Sent Events stream of JSON-RPC messages: the {@code data:} lines of each event, joined. */
public final class Sse {
    static final long NO_DEADLINE = Long.MIN_VALUE;

    private Sse() {}

    /** Hands each event's message to {@code sink} until the stream ends; comments and other fields are skipped. */
    public static void read(InputStream body, Consumer<ObjectNode> sink) throws IOException {
        read(
                body,
                m -> {
                    sink.accept(m);
                    return true;
                },
                NO_DEADLINE);
    }

    /**
     * Hands each event's message to {@code sink} until the stream ends or {@code sink} returns false;
     * past {@code deadline} (a {@link System#nanoTime} value; {@link #NO_DEADLINE} for none) a {@link
     * SocketTimeoutException}, even if the stream still sends comments.
     */
    static void read(InputStream body, Predicate<ObjectNode> sink, long deadline) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
        StringBuilder data = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            if (deadline != NO_DEADLINE && System.nanoTime() - deadline > 0)
                throw new SocketTimeoutException("the event stream passed its deadline");
            if (line.isEmpty()) {
                if (!dispatch(data, sink)) return;
            } else if (line.startsWith("data:")) {
                if (!data.isEmpty()) data.append('\n');
                data.append(line.startsWith("data: ") ? line.substring(6) : line.substring(5));
            }
        }
        dispatch(data, sink);
    }

    /** False once the sink wants no more. */
    private static boolean dispatch(StringBuilder data, Predicate<ObjectNode> sink) {
        if (data.isEmpty()) return true;
        JsonNode m = JsonRpc.parse(data.toString());
        data.setLength(0);
        return !(m instanceof ObjectNode o) || sink.test(o);
    }
}
