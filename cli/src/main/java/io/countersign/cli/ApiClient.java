package io.countersign.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.json.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** A small client of the HTTP API for the CLI. Problems come back as {@link ProblemException}. */
final class ApiClient {
    /** Says the CLI sent a request, so that the server records a review made here as from {@code cli}. */
    static final String USER_AGENT = "countersign-cli/" + Main.VERSION;

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final String key;

    ApiClient(String base, String key) {
        this.base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        requireUrl(this.base);
        if (key == null || key.isBlank()) {
            throw new IllegalArgumentException(
                    "no API key: pass --key or set COUNTERSIGN_KEY (demo keys are in data/demo.env)");
        }
        this.key = key;
    }

    private static void requireUrl(String base) {
        URI u;
        try {
            u = new URI(base);
        } catch (java.net.URISyntaxException e) {
            u = null;
        }
        if (u == null || u.getHost() == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme())))
            throw new IllegalArgumentException("--server: '" + base + "' is not an http:// or https:// URL, such as"
                    + " http://127.0.0.1:8080 (also from COUNTERSIGN_URL)");
    }

    JsonNode get(String path, Duration timeout) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET(), timeout, Map.of());
    }

    /** A text resource (a checkpoint, a key), exactly as sent. */
    String getText(String path) {
        HttpRequest r = HttpRequest.newBuilder(URI.create(base + path))
                .header("Authorization", "Bearer " + key)
                .header("User-Agent", USER_AGENT)
                .timeout(Duration.ofSeconds(30))
                .GET()
                .build();
        try {
            HttpResponse<byte[]> res = http.send(r, HttpResponse.BodyHandlers.ofByteArray());
            if (res.statusCode() >= 400)
                throw new ProblemException(res.statusCode(), Json.mapper().readTree(res.body()));
            return new String(res.body(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    JsonNode post(String path, JsonNode body, Map<String, String> headers) {
        byte[] bytes = body == null ? new byte[0] : write(body);
        return send(
                HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.ofByteArray(bytes)),
                Duration.ofSeconds(30),
                headers);
    }

    private JsonNode send(HttpRequest.Builder b, Duration timeout, Map<String, String> headers) {
        b.header("Authorization", "Bearer " + key)
                .header("User-Agent", USER_AGENT)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .timeout(timeout);
        headers.forEach(b::header);
        try {
            HttpResponse<byte[]> res = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            JsonNode body = res.body().length == 0
                    ? Json.mapper().createObjectNode()
                    : Json.mapper().readTree(res.body());
            if (res.statusCode() >= 400) throw new ProblemException(res.statusCode(), body);
            return body;
        } catch (IOException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Why the server could not be reached, in words: the exception's class name says little to a user. */
    private IllegalStateException unreachable(IOException e) {
        String why = switch (e) {
            case java.net.ConnectException c -> "connection refused (is the server running, on that port?)";
            case java.net.http.HttpConnectTimeoutException t -> "the connection timed out";
            case java.net.http.HttpTimeoutException t -> "no answer in time";
            default -> e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        };
        return new IllegalStateException("cannot reach Countersign at " + base + ": " + why, e);
    }

    private static byte[] write(JsonNode body) {
        try {
            return Json.mapper().writeValueAsBytes(body);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The server answered with a problem. */
    static final class ProblemException extends RuntimeException {
        private final int status;
        private final JsonNode problem;

        ProblemException(int status, JsonNode problem) {
            super(line(status, problem));
            this.status = status;
            this.problem = problem;
        }

        /** Title: detail [type], the title left out where the detail says the same. */
        private static String line(int status, JsonNode problem) {
            String title = problem.path("title").asText("HTTP " + status);
            String detail = problem.path("detail").asText("");
            String text = detail.isEmpty() ? title : detail.equalsIgnoreCase(title) ? detail : title + ": " + detail;
            return text + " [" + problem.path("type").asText("") + "]";
        }

        JsonNode problem() {
            return problem;
        }

        int exitCode() {
            return status == 401 || status == 403 ? 3 : status == 404 ? 4 : status == 409 || status == 410 ? 5 : 1;
        }
    }
}
