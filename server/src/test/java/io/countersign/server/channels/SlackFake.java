package io.countersign.server.channels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.countersign.core.json.Json;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server standing in for Slack's Web API and its response_url hooks. It records every
 * call and answers as Slack does: {@code {"ok":true,"channel":..,"ts":..}} for a post, {@code
 * {"ok":false,"error":".."}} when told to or for an update of an unknown message, 503 while it is
 * down, and 429 with Retry-After when told to.
 */
final class SlackFake implements AutoCloseable {
    final List<Call> calls = new CopyOnWriteArrayList<>();
    final List<JsonNode> responses = new CopyOnWriteArrayList<>();
    private final HttpServer server;
    private final AtomicInteger ts = new AtomicInteger();
    private final Map<String, String> messages = new ConcurrentHashMap<>();
    private volatile boolean down;
    private volatile int limited;
    private volatile long retryAfter;
    private volatile String error;

    SlackFake() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/api/", this::api);
        server.createContext("/response/", this::response);
        server.start();
    }

    /** One Web API call as Slack saw it. */
    record Call(String method, String authorization, JsonNode body, JsonNode answer) {}

    URI api() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/api");
    }

    URI responseUrl(String name) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/response/" + name);
    }

    /** While down, every Web API call is answered 503. */
    void down(boolean down) {
        this.down = down;
    }

    /** The next {@code n} calls are answered 429 with Retry-After {@code seconds}. */
    void rateLimit(int n, long seconds) {
        retryAfter = seconds;
        limited = n;
    }

    /** Every call is answered {@code {"ok":false,"error":code}} until told null. */
    void fail(String code) {
        error = code;
    }

    List<Call> calls(String method) {
        return calls.stream().filter(c -> c.method().equals(method)).toList();
    }

    /** Calls of {@code method} about {@code requestId} (their rendered text names it). */
    List<Call> calls(String method, String requestId) {
        return calls(method).stream()
                .filter(c -> c.body().toString().contains(requestId))
                .toList();
    }

    private void api(HttpExchange ex) throws IOException {
        String method = ex.getRequestURI().getPath().substring("/api/".length());
        JsonNode body = Json.mapper().readTree(ex.getRequestBody().readAllBytes());
        if (down) {
            send(ex, 503, "{\"ok\":false,\"error\":\"service_unavailable\"}");
            return;
        }
        synchronized (this) {
            if (limited > 0) {
                limited--;
                ex.getResponseHeaders().add("Retry-After", Long.toString(retryAfter));
                send(ex, 429, "{\"ok\":false,\"error\":\"ratelimited\"}");
                return;
            }
        }
        String failing = error;
        ObjectNode answer = failing != null
                ? Json.mapper().createObjectNode().put("ok", false).put("error", failing)
                : answer(method, body);
        calls.add(new Call(method, ex.getRequestHeaders().getFirst("Authorization"), body, answer));
        send(ex, 200, answer.toString());
    }

    private ObjectNode answer(String method, JsonNode body) {
        ObjectNode ok = Json.mapper().createObjectNode().put("ok", true);
        String channel = body.path("channel").asText();
        switch (method) {
            case "chat.postMessage" -> {
                String id = channel.startsWith("U") ? "D" + channel.substring(1) : channel;
                String stamp = "1741000000." + String.format("%06d", ts.incrementAndGet());
                messages.put(id + "/" + stamp, body.toString());
                ok.put("channel", id).put("ts", stamp);
            }
            case "chat.update" -> {
                String key = channel + "/" + body.path("ts").asText();
                if (!messages.containsKey(key))
                    return Json.mapper().createObjectNode().put("ok", false).put("error", "message_not_found");
                messages.put(key, body.toString());
                ok.put("channel", channel).put("ts", body.path("ts").asText());
            }
            case "views.open" -> ok.putObject("view").put("id", "V" + ts.incrementAndGet());
            default -> {
                return Json.mapper().createObjectNode().put("ok", false).put("error", "unknown_method");
            }
        }
        return ok;
    }

    private void response(HttpExchange ex) throws IOException {
        responses.add(Json.mapper().readTree(ex.getRequestBody().readAllBytes()));
        send(ex, 200, "ok");
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
        ex.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
