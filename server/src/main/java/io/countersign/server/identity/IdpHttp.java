package io.countersign.server.identity;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * GETs of an identity provider's discovery document and key set: the JDK client, a connect and a
 * read timeout, no redirects, at most 512 KiB. Every failure is an {@link IdpException} saying what
 * was fetched and what went wrong.
 */
final class IdpHttp {
    private static final int MAX_BYTES = 512 * 1024;

    private final HttpClient client;
    private final Duration timeout;

    IdpHttp(Duration timeout) {
        this.timeout = timeout;
        this.client = HttpClient.newBuilder()
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    String get(URI uri, String what) {
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Accept", "application/json")
                .GET()
                .build();
        try {
            HttpResponse<InputStream> r = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                byte[] body = in.readNBytes(MAX_BYTES + 1);
                if (r.statusCode() != 200)
                    throw new IdpException(what + " " + uri + " answered HTTP " + r.statusCode());
                if (body.length > MAX_BYTES)
                    throw new IdpException(what + " " + uri + " is larger than " + MAX_BYTES + " bytes");
                return new String(body, StandardCharsets.UTF_8);
            }
        } catch (java.net.http.HttpTimeoutException e) {
            throw new IdpException(what + " " + uri + " did not answer within " + timeout.toMillis() + " ms");
        } catch (IOException e) {
            throw new IdpException("cannot fetch " + what + " " + uri + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IdpException("interrupted while fetching " + what + " " + uri);
        }
    }

    /** The identity provider could not be asked, or answered with something unusable. */
    static final class IdpException extends RuntimeException {
        IdpException(String message) {
            super(message, null, false, false);
        }
    }
}
