package io.countersign.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/** Reads a Server-Sent Events stream of JSON-RPC messages: the {@code data:} lines of each event, joined. */
public final class Sse {
    private Sse() {}

    /** Hands each event's message to {@code sink} until the stream ends; comments and other fields are skipped. */
    public static void read(InputStream body, Consumer<ObjectNode> sink) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
        StringBuilder data = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                dispatch(data, sink);
            } else if (line.startsWith("data:")) {
                if (!data.isEmpty()) data.append('\n');
                data.append(line.startsWith("data: ") ? line.substring(6) : line.substring(5));
            }
        }
        dispatch(data, sink);
    }

    private static void dispatch(StringBuilder data, Consumer<ObjectNode> sink) {
        if (data.isEmpty()) return;
        JsonNode m = JsonRpc.parse(data.toString());
        data.setLength(0);
        if (m instanceof ObjectNode o) sink.accept(o);
    }
}
