package io.countersign.core.json;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * How deeply a submitted JSON value may nest. A request's {@code params} and {@code context} are
 * stored and served back inside other documents (a request inside the list of requests, an event,
 * an MCP message), and Jackson writes at most 1,000 levels; a value accepted at nearly 1,000 levels
 * would be stored and then break every response that wraps it (a 500 for each caller whose list
 * holds it). So a value is refused at submission when it nests deeper than {@link #MAX}, far below
 * what any wrapping reaches.
 */
public final class JsonDepth {
    /** The deepest nesting of objects and arrays a submitted value may have. */
    public static final int MAX = 100;

    private JsonDepth() {}

    /** The number of nested objects and arrays in {@code node}, itself included (a scalar is 0). */
    public static int of(JsonNode node) {
        if (node == null || !node.isContainerNode()) return 0;
        int deepest = 0;
        Deque<JsonNode> nodes = new ArrayDeque<>();
        Deque<Integer> depths = new ArrayDeque<>();
        nodes.push(node);
        depths.push(1);
        while (!nodes.isEmpty()) {
            JsonNode n = nodes.pop();
            int d = depths.pop();
            deepest = Math.max(deepest, d);
            for (JsonNode child : n) {
                if (child.isContainerNode()) {
                    nodes.push(child);
                    depths.push(d + 1);
                }
            }
        }
        return deepest;
    }
}
