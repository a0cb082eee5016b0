package io.countersign.server.config;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Where approvers are asked and events are sent: Slack, Teams, email and webhooks, each null (or
 * empty) when not configured. Secrets are {@link Secret}s: they print as {@code [secret]}.
 *
 * @param publicUrl the base URL people's browsers reach this server at, for links in messages;
 *     default {@code http://<host>:<port>}
 * @param linkSecret the HMAC key of one-time review links; default generated into {@code
 *     <data_dir>/links.key}
 * @param slack the Slack app, or null
 * @param teams the Teams workflow, or null
 * @param email the SMTP server, or null
 * @param webhooks webhook endpoints; default none
 * @param delivery how deliveries are retried
 */
public record Channels(
        URI publicUrl,
        Secret linkSecret,
        Slack slack,
        Teams teams,
        Email email,
        List<Webhook> webhooks,
        Delivery delivery) {
    public Channels {
        webhooks = webhooks == null ? List.of() : List.copyOf(webhooks);
        delivery = delivery == null ? Delivery.defaults() : delivery;
    }

    /** No channels: only the API and the CLI. */
    public static Channels none() {
        return new Channels(null, null, null, null, null, List.of(), Delivery.defaults());
    }

    /** Whether anything is configured that needs the delivery worker. */
    public boolean any() {
        return slack != null || teams != null || email != null || !webhooks.isEmpty();
    }

    public Channels withSlack(Slack s) {
        return new Channels(publicUrl, linkSecret, s, teams, email, webhooks, delivery);
    }

    public Channels withTeams(Teams t) {
        return new Channels(publicUrl, linkSecret, slack, t, email, webhooks, delivery);
    }

    public Channels withEmail(Email e) {
        return new Channels(publicUrl, linkSecret, slack, teams, e, webhooks, delivery);
    }

    public Channels withWebhooks(List<Webhook> w) {
        return new Channels(publicUrl, linkSecret, slack, teams, email, w, delivery);
    }

    public Channels withDelivery(Delivery d) {
        return new Channels(publicUrl, linkSecret, slack, teams, email, webhooks, d);
    }

    public Channels withPublicUrl(URI u) {
        return new Channels(u, linkSecret, slack, teams, email, webhooks, delivery);
    }

    /** A secret from the config or the environment. Never printed: {@link #toString} hides it. */
    public record Secret(String value) {
        public Secret {
            Objects.requireNonNull(value, "value");
        }

        public byte[] bytes() {
            return value.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return "[secret]";
        }
    }

    /**
     * A Slack app.
     *
     * @param botToken the bot token ({@code xoxb-...}) for chat.postMessage, chat.update, views.open
     * @param signingSecret the app's signing secret, to verify interaction payloads
     * @param channel the channel id approval messages go to, unless a rule names another
     * @param apiUrl the Web API base URL; default {@code https://slack.com/api}
     */
    public record Slack(Secret botToken, Secret signingSecret, String channel, URI apiUrl) {
        public static final URI DEFAULT_API = URI.create("https://slack.com/api");

        public Slack {
            Objects.requireNonNull(botToken, "botToken");
            Objects.requireNonNull(signingSecret, "signingSecret");
            Objects.requireNonNull(channel, "channel");
            apiUrl = apiUrl == null ? DEFAULT_API : apiUrl;
        }
    }

    /**
     * A Teams workflow or incoming webhook. Its URL carries its own signature, so it is a secret.
     *
     * @param webhookUrl where Adaptive Cards are posted
     */
    public record Teams(Secret webhookUrl) {
        public Teams {
            Objects.requireNonNull(webhookUrl, "webhookUrl");
        }
    }

    /**
     * An SMTP server, or a pickup directory that messages are written to instead (for trying
     * Countersign without a mail server, or for a local MTA that sends what it finds there).
     *
     * @param host its host (null with a pickup directory)
     * @param port its port; default 587 (25 with tls none, 465 with tls)
     * @param tls none, starttls (default) or tls
     * @param username the login, or null for none
     * @param password the password, or null for none
     * @param from the sender address
     * @param pickupDir where each message is written as an {@code .eml} file instead of sent, or null
     */
    public record Email(
            String host,
            int port,
            Tls tls,
            String username,
            Secret password,
            String from,
            java.nio.file.Path pickupDir) {
        public Email {
            if (pickupDir == null) Objects.requireNonNull(host, "host");
            Objects.requireNonNull(tls, "tls");
            Objects.requireNonNull(from, "from");
        }

        /** An SMTP server. */
        public Email(String host, int port, Tls tls, String username, Secret password, String from) {
            this(host, port, tls, username, password, from, null);
        }

        /** How the connection is secured. */
        public enum Tls {
            NONE,
            STARTTLS,
            TLS
        }
    }

    /**
     * A webhook endpoint, sent every ledger event (or those matching {@code events}), signed per the
     * Standard Webhooks specification.
     *
     * @param name its name (deliveries and metrics show the name, never the URL)
     * @param url where events are POSTed
     * @param secret the signing secret, {@code whsec_<base64>}
     * @param events event types to send ({@code request.*} matches a prefix); empty means all
     */
    public record Webhook(String name, URI url, Secret secret, List<String> events) {
        public Webhook {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(url, "url");
            Objects.requireNonNull(secret, "secret");
            events = events == null ? List.of() : List.copyOf(events);
        }

        /** Whether events of {@code type} go to this endpoint. */
        public boolean wants(String type) {
            if (events.isEmpty()) return true;
            for (String e : events) {
                if (e.endsWith("*") ? type.startsWith(e.substring(0, e.length() - 1)) : type.equals(e)) return true;
            }
            return false;
        }
    }

    /**
     * How deliveries are tried.
     *
     * @param maxAttempts attempts before a delivery is given up (dead); default 12
     * @param firstBackoff the wait after the first failure, doubled after each; default 2s
     * @param maxBackoff the longest wait between attempts; default 5m
     * @param timeout how long one attempt may take; default 10s
     */
    public record Delivery(int maxAttempts, Duration firstBackoff, Duration maxBackoff, Duration timeout) {
        public static Delivery defaults() {
            return new Delivery(12, Duration.ofSeconds(2), Duration.ofMinutes(5), Duration.ofSeconds(10));
        }

        /** The wait before attempt {@code attempts + 1}, after {@code attempts} failed. */
        public Duration backoff(int attempts) {
            Duration d = firstBackoff;
            for (int i = 1; i < attempts && d.compareTo(maxBackoff) < 0; i++) d = d.multipliedBy(2);
            return d.compareTo(maxBackoff) > 0 ? maxBackoff : d;
        }
    }
}
