package io.countersign.server.console;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.json.Json;
import io.countersign.server.config.Channels;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.StringJoiner;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console's issuer as an OAuth authorization server: its authorization and token endpoints,
 * read from its discovery document (whose {@code issuer} must be the configured one exactly, OpenID
 * Connect Discovery 1.0 section 4.3) and kept once read, and the authorization-code exchange. No
 * redirects are followed; bodies are read up to 512 KiB; failures name the endpoint and the OAuth
 * error code, never the code, the verifier or the secret sent.
 */
final class IdentityProvider {
    private static final Logger LOG = LoggerFactory.getLogger(IdentityProvider.class);
    private static final int MAX_BYTES = 512 * 1024;
    private static final Pattern ERROR_CODE = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern LOOPBACK = Pattern.compile("localhost|\\[::1]|127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");

    /** The endpoints the sign-in uses. */
    record Endpoints(URI authorization, URI token) {}

    private final String issuer;
    private final String clientId;
    private final Channels.Secret clientSecret;
    private final Duration timeout;
    private final HttpClient http;
    private volatile Endpoints endpoints;

    IdentityProvider(String issuer, String clientId, Channels.Secret clientSecret, Duration timeout) {
        this.issuer = issuer;
        this.clientId = clientId;
        this.clientSecret = clientSecret;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder()
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /** The endpoints, from the discovery document (read on first use, again after a failed read). */
    Endpoints endpoints() {
        Endpoints e = endpoints;
        if (e == null) endpoints = e = discover();
        return e;
    }

    /**
     * The ID token for {@code code}: the authorization-code grant with the PKCE verifier, the client
     * authenticated with HTTP Basic when it has a secret (RFC 6749 section 2.3.1), else named in the
     * body as a public client.
     */
    String idToken(String code, String verifier, URI redirectUri) {
        StringJoiner form = new StringJoiner("&")
                .add(param("grant_type", "authorization_code"))
                .add(param("code", code))
                .add(param("redirect_uri", redirectUri.toString()))
                .add(param("code_verifier", verifier));
        HttpRequest.Builder req = HttpRequest.newBuilder(endpoints().token())
                .timeout(timeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json");
        if (clientSecret == null) form.add(param("client_id", clientId));
        else req.header("Authorization", "Basic " + basic());
        HttpResponse<InputStream> res = send(req.POST(HttpRequest.BodyPublishers.ofString(form.toString())), "token");
        JsonNode body = json(res, "token");
        if (res.statusCode() != 200) {
            String error = body.path("error").asText("");
            String named = ERROR_CODE.matcher(error).matches() ? error : "no error code";
            LOG.info("the token endpoint of {} refused a sign-in: HTTP {} {}", issuer, res.statusCode(), named);
            throw new SignInRefused(
                    502, "The identity provider refused to complete the sign-in (" + named + "). Sign in again.");
        }
        if (!body.isObject()) throw unavailable("its token endpoint answered something other than JSON");
        String idToken = body.path("id_token").asText("");
        if (idToken.isEmpty())
            throw new SignInRefused(
                    502, "The identity provider answered without an ID token. Is the openid scope allowed?");
        return idToken;
    }

    private Endpoints discover() {
        String base = issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
        URI where = URI.create(base + "/.well-known/openid-configuration");
        HttpResponse<InputStream> res =
                send(HttpRequest.newBuilder(where).timeout(timeout).GET(), "discovery");
        JsonNode doc = json(res, "discovery");
        if (res.statusCode() != 200) throw unavailable("its discovery document answered HTTP " + res.statusCode());
        if (!doc.isObject()) throw unavailable("its discovery document is not a JSON object");
        if (!issuer.equals(doc.path("issuer").asText(null)))
            throw unavailable("its discovery document names another issuer");
        return new Endpoints(endpoint(doc, "authorization_endpoint"), endpoint(doc, "token_endpoint"));
    }

    private URI endpoint(JsonNode doc, String name) {
        String text = doc.path(name).asText("");
        try {
            URI u = new URI(text);
            boolean loopback =
                    u.getHost() != null && LOOPBACK.matcher(u.getHost()).matches();
            if ("https".equals(u.getScheme()) || ("http".equals(u.getScheme()) && loopback)) return u;
        } catch (java.net.URISyntaxException e) {
            // refused below
        }
        throw unavailable("its discovery document gives no usable " + name);
    }

    private HttpResponse<InputStream> send(HttpRequest.Builder req, String what) {
        try {
            return http.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (java.net.http.HttpTimeoutException e) {
            throw unavailable("its " + what + " endpoint did not answer within " + timeout.toMillis() + " ms");
        } catch (IOException e) {
            throw unavailable("its " + what + " endpoint cannot be reached ("
                    + e.getClass().getSimpleName() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable("the sign-in was interrupted");
        }
    }

    /** The answer as JSON; a missing node when it is not JSON (an error page, say). */
    private JsonNode json(HttpResponse<InputStream> res, String what) {
        byte[] b;
        try (InputStream in = res.body()) {
            b = in.readNBytes(MAX_BYTES + 1);
        } catch (IOException e) {
            throw unavailable(
                    "its " + what + " answer could not be read (" + e.getClass().getSimpleName() + ")");
        }
        if (b.length > MAX_BYTES) throw unavailable("its " + what + " answer is larger than 512 KiB");
        try {
            JsonNode n = b.length == 0 ? null : Json.mapper().readTree(b);
            return n == null ? com.fasterxml.jackson.databind.node.MissingNode.getInstance() : n;
        } catch (IOException e) {
            return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
        }
    }

    private String basic() {
        String pair = form(clientId) + ":" + form(clientSecret.value());
        return Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
    }

    private static String param(String name, String value) {
        return name + "=" + form(value);
    }

    private static String form(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    /** The authorization URL for these parameters, keeping any query the endpoint already has. */
    static URI authorizationUrl(URI endpoint, Map<String, String> params) {
        StringJoiner q = new StringJoiner("&");
        params.forEach((k, v) -> q.add(param(k, v)));
        String sep = endpoint.getRawQuery() == null ? "?" : "&";
        return URI.create(endpoint + sep + q);
    }

    private SignInRefused unavailable(String why) {
        LOG.warn("console sign-in through {} failed: {}", issuer, why);
        return new SignInRefused(502, "The identity provider cannot be used just now: " + why + ". Try again shortly.");
    }
}
