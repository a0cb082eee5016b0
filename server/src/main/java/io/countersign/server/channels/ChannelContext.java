package io.countersign.server.channels;

import io.countersign.core.Principal;
import io.countersign.core.RequestService;
import io.countersign.core.spi.Outbox;
import io.countersign.core.spi.RequestStore;
import io.countersign.server.config.ServerConfig;
import io.countersign.server.identity.Identities;
import io.helidon.webserver.http.ServerRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Clock;
import java.util.Objects;
import java.util.function.Function;

/**
 * What channels work with.
 *
 * @param config the server's config (its {@code channels} section is the channels')
 * @param service the request service: reviews that arrive through a channel go through it, with
 *     the same separation-of-duties checks as on the API
 * @param store committed requests, read to render messages
 * @param identities who is who: the principal behind a Slack user, a Teams user or an email address
 * @param outbox deliveries, and nonces of one-time links
 * @param links signs and checks one-time review links
 * @param publicUrl the base URL of links in messages (known once the server listens)
 * @param authenticate the API's authentication (API key or bearer token) of an HTTP request
 * @param signIn who is signed in to the console (for links not sent to one person)
 * @param http the client channels call their peers with
 * @param clock the clock
 */
public record ChannelContext(
        ServerConfig config,
        RequestService service,
        RequestStore store,
        Identities identities,
        Outbox outbox,
        ReviewLinks links,
        java.util.function.Supplier<URI> publicUrl,
        Function<ServerRequest, Principal> authenticate,
        ConsoleSignIn signIn,
        HttpClient http,
        Clock clock) {
    public ChannelContext {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(identities, "identities");
        Objects.requireNonNull(outbox, "outbox");
        Objects.requireNonNull(links, "links");
        Objects.requireNonNull(publicUrl, "publicUrl");
        Objects.requireNonNull(authenticate, "authenticate");
        Objects.requireNonNull(signIn, "signIn");
        Objects.requireNonNull(http, "http");
        Objects.requireNonNull(clock, "clock");
    }

    /** The base URL of links in messages, without a trailing slash. */
    public URI baseUrl() {
        return publicUrl.get();
    }
}
