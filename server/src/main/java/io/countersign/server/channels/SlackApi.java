package io.countersign.server.channels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.Json;
import io.countersign.server.config.Channels;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Slack's Web API: a JSON POST to {@code <api_url>/<method>} with the bot token, answered with
 * {@code {"ok": true, ...}} or {@code {"ok": false, "error": "<code>"}}. Failures become {@link
 * DeliveryFailure}s that name the method and Slack's error code, never the token or a URL: 429 and
 * {@code ratelimited} wait for Retry-After, 5xx, timeouts and Slack's own transient codes are retried,
 * anything else (a channel not found, a token revoked) is permanent.
 */
final class SlackApi {
    private static final Set<String> TRANSIENT =
            Set.of("ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "timeout");
    private static final Pattern CODE = Pattern.compile("[a-z0-9_]{1,64}");

    private final HttpClient http;
    private final URI api;
    private final Channels.Secret token;

    SlackApi(HttpClient http, URI api, Channels.Secret token) {
        this.http = http;
        this.api = api;
        this.token = token;
    }

    /** Calls {@code method} with {@code body}; returns Slack's answer when it says {@code ok}. */
    JsonNode call(String method, ObjectNode body, Duration timeout) throws DeliveryFailure {
        HttpRequest req = HttpRequest.newBuilder(URI.create(api + "/" + method))
                .timeout(timeout)
                .header("content-type", "application/json; charset=utf-8")
                .header("authorization", "Bearer " + token.value())
                .POST(HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8))
                .build();
        HttpResponse<String> res = send(method, req, timeout);
        int status = res.statusCode();
        if (status == 429)
            throw DeliveryFailure.retryAfter(
                    "slack " + method + " answered 429 (rate limited)", DeliveryFailure.requestedWait(res));
        if (status >= 500) throw DeliveryFailure.retry("slack " + method + " answered " + status);
        if (status != 200) throw DeliveryFailure.permanent("slack " + method + " answered " + status);
        return ok(method, res);
    }

    /**
     * Posts {@code body} to an interaction's {@code response_url} (which carries its own authority:
     * no token is sent to it).
     */
    void respond(URI responseUrl, ObjectNode body, Duration timeout) throws DeliveryFailure {
        HttpRequest req = HttpRequest.newBuilder(responseUrl)
                .timeout(timeout)
                .header("content-type", "application/json; charset=utf-8")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8))
                .build();
        int status = send("response_url", req, timeout).statusCode();
        if (status / 100 != 2) throw DeliveryFailure.retry("slack response_url answered " + status);
    }

    /** Whether {@code url} may be sent an interaction's response: Slack's own hooks, or the configured API's host. */
    boolean mayRespondTo(URI url) {
        if (url == null || url.getHost() == null) return false;
        boolean slack = "https".equals(url.getScheme())
                && (url.getHost().equals("hooks.slack.com") || url.getHost().endsWith(".slack.com"));
        boolean sameAsApi = java.util.Objects.equals(url.getScheme(), api.getScheme())
                && url.getHost().equals(api.getHost())
                && url.getPort() == api.getPort();
        return slack || sameAsApi;
    }

    private HttpResponse<String> send(String method, HttpRequest req, Duration timeout) throws DeliveryFailure {
        try {
            return http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (java.net.http.HttpTimeoutException e) {
            throw DeliveryFailure.retry("slack " + method + " did not answer within " + timeout.toMillis() + " ms");
        } catch (IOException e) {
            throw DeliveryFailure.retry(
                    "cannot reach slack for " + method + ": " + e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw DeliveryFailure.retry("interrupted");
        }
    }

    private static JsonNode ok(String method, HttpResponse<String> res) throws DeliveryFailure {
        JsonNode answer;
        try {
            answer = Json.mapper().readTree(res.body());
        } catch (IOException e) {
            throw DeliveryFailure.retry("slack " + method + " answered with something other than JSON");
        }
        if (answer != null && answer.path("ok").asBoolean(false)) return answer;
        String error = answer == null ? "" : answer.path("error").asText("");
        if (!CODE.matcher(error).matches()) error = "unknown_error";
        String message = "slack " + method + ": " + error;
        if (error.equals("ratelimited")) throw DeliveryFailure.retryAfter(message, DeliveryFailure.requestedWait(res));
        if (TRANSIENT.contains(error)) throw DeliveryFailure.retry(message);
        throw DeliveryFailure.permanent(message);
    }
}
