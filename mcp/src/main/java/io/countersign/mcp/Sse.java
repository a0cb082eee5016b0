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
        read(body, sink, deadline, new Cursor());
    }

    /**
     * As {@link #read(InputStream, Predicate, long)}, keeping the stream's last event id and
     * reconnection time in {@code cursor}: what a client needs to resume the stream.
     */
    static void read(InputStream body, Predicate<ObjectNode> sink, long deadline, Cursor cursor) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
        StringBuilder data = new StringBuilder();
        String id = cursor.lastEventId;
        String line;
        while ((line = in.readLine()) != null) {
            if (deadline != NO_DEADLINE && System.nanoTime() - deadline > 0)
                throw new SocketTimeoutException("the event stream passed its deadline");
            if (line.isEmpty()) {
                cursor.lastEventId = id; // set at dispatch, even by an event without data (a priming event)
                if (!dispatch(data, sink)) return;
            } else if (line.startsWith("data:")) {
                if (!data.isEmpty()) data.append('\n');
                data.append(value(line, 5));
            } else if (line.startsWith("id:") && line.indexOf('\0') < 0) {
                id = value(line, 3);
            } else if (line.startsWith("retry:") && value(line, 6).matches("[0-9]{1,9}")) {
                cursor.retryMillis = Long.parseLong(value(line, 6));
            }
        }
        dispatch(data, sink);
    }

    /** A field's value: what follows its colon (which ends at {@code start}), less one leading space. */
    private static String value(String line, int start) {
        return line.startsWith(" ", start) ? line.substring(start + 1) : line.substring(start);
    }

    /** Where a stream stands, for resuming it: the last event id it gave and the reconnection time it asked for. */
    static final class Cursor {
        private volatile String lastEventId;
        private volatile long retryMillis = -1;

        /** The id of the last event dispatched, or null if the stream gave none. */
        String lastEventId() {
            return lastEventId;
        }

        /** The reconnection time the stream asked for ({@code retry:}), or -1. */
        long retryMillis() {
            return retryMillis;
        }
    }

    /** False once the sink wants no more. */
    private static boolean dispatch(StringBuilder data, Predicate<ObjectNode> sink) {
        if (data.isEmpty()) return true;
        JsonNode m = JsonRpc.parse(data.toString());
        data.setLength(0);
        return !(m instanceof ObjectNode o) || sink.test(o);
    }
}
