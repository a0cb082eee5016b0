package io.countersign.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.Utf8;

/** JSON-RPC 2.0 as MCP uses it: the message kinds, the error codes, and builders. */
public final class JsonRpc {
    public static final int PARSE_ERROR = -32700;
    public static final int INVALID_REQUEST = -32600;
    public static final int METHOD_NOT_FOUND = -32601;
    public static final int INVALID_PARAMS = -32602;
    public static final int INTERNAL_ERROR = -32603;
    /** Implementation-defined server error: the upstream MCP server failed, hung or is unreachable. */
    public static final int UPSTREAM_ERROR = -32000;
    /** MCP 2026-07-28: the request's protocol version is not one this server speaks. */
    public static final int UNSUPPORTED_PROTOCOL_VERSION = -32022;

    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private JsonRpc() {}

    /** What a message is, by its members. */
    public enum Kind {
        REQUEST,
        NOTIFICATION,
        RESPONSE,
        INVALID
    }

    public static Kind kind(JsonNode m) {
        if (m == null || !m.isObject() || !"2.0".equals(m.path("jsonrpc").asText(null))) return Kind.INVALID;
        boolean hasId = m.has("id") && (m.get("id").isTextual() || m.get("id").isIntegralNumber());
        if (m.has("method")) {
            if (!m.get("method").isTextual()) return Kind.INVALID;
            if (m.has("params") && !m.get("params").isObject()) return Kind.INVALID;
            if (!m.has("id")) return Kind.NOTIFICATION;
            return hasId ? Kind.REQUEST : Kind.INVALID;
        }
        if (hasId && (m.has("result") ^ m.has("error"))) return Kind.RESPONSE;
        return Kind.INVALID;
    }

    public static String method(JsonNode m) {
        return m.path("method").asText("");
    }

    /** The message's params, or an empty object. */
    public static ObjectNode params(JsonNode m) {
        JsonNode p = m.get("params");
        return p instanceof ObjectNode o ? o : F.objectNode();
    }

    public static ObjectNode request(JsonNode id, String method, ObjectNode params) {
        ObjectNode m = F.objectNode().put("jsonrpc", "2.0");
        m.set("id", id);
        m.put("method", method);
        if (params != null) m.set("params", params);
        return m;
    }

    public static ObjectNode notification(String method, ObjectNode params) {
        ObjectNode m = F.objectNode().put("jsonrpc", "2.0").put("method", method);
        if (params != null) m.set("params", params);
        return m;
    }

    public static ObjectNode result(JsonNode id, JsonNode result) {
        ObjectNode m = F.objectNode().put("jsonrpc", "2.0");
        m.set("id", id == null ? NullNode.instance : id);
        m.set("result", result);
        return m;
    }

    public static ObjectNode error(JsonNode id, int code, String message) {
        return error(id, code, message, null);
    }

    public static ObjectNode error(JsonNode id, int code, String message, JsonNode data) {
        ObjectNode m = F.objectNode().put("jsonrpc", "2.0");
        m.set("id", id == null ? NullNode.instance : id);
        ObjectNode e = m.putObject("error").put("code", code).put("message", message);
        if (data != null) e.set("data", data);
        return m;
    }

    /** A tool result the model can read: one text block, {@code isError} as given. */
    public static ObjectNode toolResult(String text, boolean isError) {
        ObjectNode r = F.objectNode();
        r.putArray("content").addObject().put("type", "text").put("text", text);
        r.put("isError", isError);
        return r;
    }

    /** Parses one message; a {@link MalformedMessageException} when the text is not JSON. */
    public static JsonNode parse(String text) {
        try {
            JsonNode n = MAPPER.readTree(text);
            if (n == null || n.isMissingNode()) throw new MalformedMessageException("empty message: no JSON");
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new MalformedMessageException("not JSON: " + e.getOriginalMessage());
        }
    }

    /**
     * Reads an agent's messages: a key twice in one object is malformed, since which of the two counts
     * would be the parser's choice, and the digest an approval binds must not rest on one.
     */
    private static final com.fasterxml.jackson.databind.ObjectReader AGENT =
            MAPPER.reader().with(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    /** Parses one message from UTF-8 bytes; a {@link MalformedMessageException} when they are not JSON. */
    public static JsonNode parse(byte[] utf8) {
        return parse(utf8, MAPPER.reader());
    }

    /**
     * As {@link #parse(byte[])}, for a message from an agent: stricter ({@link #AGENT}), and the bytes
     * must be UTF-8, since the parser would read some invalid forms as other characters ({@link Utf8}).
     */
    public static JsonNode parseFromAgent(byte[] utf8) {
        int at = Utf8.invalidAt(utf8);
        if (at >= 0) throw new MalformedMessageException("not valid UTF-8 (at byte offset " + at + ")");
        return parse(utf8, AGENT);
    }

    private static JsonNode parse(byte[] utf8, com.fasterxml.jackson.databind.ObjectReader reader) {
        try {
            JsonNode n = reader.readTree(utf8);
            if (n == null || n.isMissingNode()) throw new MalformedMessageException("empty message: no JSON");
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new MalformedMessageException("not JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw new MalformedMessageException("not JSON: " + e.getMessage());
        }
    }

    /** The message as UTF-8 JSON. */
    public static byte[] bytes(JsonNode m) {
        try {
            return MAPPER.writeValueAsBytes(m);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serialises", e);
        }
    }

    public static String write(JsonNode m) {
        try {
            return MAPPER.writeValueAsString(m);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serialises", e);
        }
    }

    /** A message that is not JSON at all. */
    public static final class MalformedMessageException extends RuntimeException {
        public MalformedMessageException(String message) {
            super(message);
        }
    }
}
