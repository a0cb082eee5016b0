package io.countersign.server.channels;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.countersign.core.json.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP endpoint standing in for a Teams workflow ("when a webhook request is received"):
 * records the messages posted to it and answers 202, or fails as told (429 with Retry-After, 503).
 * Its URL carries a signature in the query, as a real workflow URL does.
 */
final class TeamsWorkflow implements AutoCloseable {
    static final String SIGNATURE = "sig-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    static final String PATH = "/workflows/5d1c/triggers/manual/paths/invoke";

    final List<JsonNode> messages = new CopyOnWriteArrayList<>();
    final AtomicInteger attempts = new AtomicInteger();
    private final HttpServer server;
    private int failures;
    private int failStatus;
    private String retryAfter;

    TeamsWorkflow() {
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext(PATH, ex -> {
            byte[] body = ex.getRequestBody().readAllBytes();
            attempts.incrementAndGet();
            int status = 202;
            String after = null;
            synchronized (this) {
                if (failures > 0) {
                    failures--;
                    status = failStatus;
                    after = retryAfter;
                }
            }
            if (status == 202 && ex.getRequestURI().getRawQuery().contains("sig=" + SIGNATURE))
                messages.add(Json.mapper().readTree(body));
            if (after != null) ex.getResponseHeaders().add("Retry-After", after);
            ex.sendResponseHeaders(status, -1);
            ex.close();
        });
        server.start();
    }

    /** The next {@code n} posts get {@code status}, with {@code retryAfter} (seconds) unless null. */
    synchronized void failNext(int n, int status, String retryAfter) {
        this.failures = n;
        this.failStatus = status;
        this.retryAfter = retryAfter;
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + PATH
                + "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + SIGNATURE);
    }

    /** The Adaptive Card of the {@code i}-th message received. */
    JsonNode card(int i) {
        return messages.get(i).path("attachments").path(0).path("content");
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
