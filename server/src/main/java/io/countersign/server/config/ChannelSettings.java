package io.countersign.server.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The {@code channels} section. Every value may name environment variables ({@code ${NAME}}) so that
 * secrets stay out of the file; a variable that is not set fails the start, naming the key (never a
 * value).
 */
final class ChannelSettings {
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");
    // Matched whole and never resolved: 127.0.0.1.example.com is a name anyone can point anywhere.
    private static final Pattern LOOPBACK = Pattern.compile("(?i)localhost|127(\\.\\d{1,3}){3}|::1|\\[::1]");

    private ChannelSettings() {}

    record Section(
            String publicUrl,
            String linkSecret,
            SlackSection slack,
            TeamsSection teams,
            EmailSection email,
            List<WebhookSection> webhooks,
            DeliverySection delivery) {}

    record SlackSection(String botToken, String signingSecret, String channel, String apiUrl) {}

    record TeamsSection(String webhookUrl) {}

    record EmailSection(
            String host, Integer port, String tls, String username, String password, String from, String pickupDir) {}

    record WebhookSection(String name, String url, String secret, List<String> events) {}

    record DeliverySection(Integer maxAttempts, String firstBackoff, String maxBackoff, String timeout) {}

    static Channels channels(Section s, Map<String, String> env, java.nio.file.Path base) {
        if (s == null) return Channels.none();
        URI publicUrl = s.publicUrl() == null
                ? null
                : url("channels.public_url", value("channels.public_url", s.publicUrl(), env));
        if (publicUrl != null
                && publicUrl.getPath() != null
                && publicUrl.getPath().endsWith("/"))
            publicUrl = URI.create(publicUrl.toString().replaceAll("/+$", ""));
        Channels.Secret linkSecret = secret("channels.link_secret", s.linkSecret(), env);
        if (linkSecret != null && linkSecret.bytes().length < 32)
            throw new ConfigException("channels.link_secret: must be at least 32 bytes long");
        return new Channels(
                publicUrl,
                linkSecret,
                slack(s.slack(), env),
                teams(s.teams(), env),
                email(s.email(), env, base),
                webhooks(s.webhooks(), env),
                delivery(s.delivery()));
    }

    private static Channels.Slack slack(SlackSection s, Map<String, String> env) {
        if (s == null) return null;
        String k = "channels.slack";
        Channels.Secret token = required(k + ".bot_token", secret(k + ".bot_token", s.botToken(), env));
        Channels.Secret signing =
                required(k + ".signing_secret", secret(k + ".signing_secret", s.signingSecret(), env));
        String channel = value(k + ".channel", s.channel(), env);
        if (channel == null || channel.isBlank())
            throw new ConfigException(
                    k + ".channel: give the id of the channel approval requests go to (e.g. C0123ABC)");
        URI api = s.apiUrl() == null ? null : url(k + ".api_url", value(k + ".api_url", s.apiUrl(), env));
        if (api != null) api = URI.create(api.toString().replaceAll("/+$", ""));
        return new Channels.Slack(token, signing, channel, api);
    }

    private static Channels.Teams teams(TeamsSection t, Map<String, String> env) {
        if (t == null) return null;
        Channels.Secret url =
                required("channels.teams.webhook_url", secret("channels.teams.webhook_url", t.webhookUrl(), env));
        url("channels.teams.webhook_url", url.value());
        return new Channels.Teams(url);
    }

    private static Channels.Email email(EmailSection e, Map<String, String> env, java.nio.file.Path base) {
        if (e == null) return null;
        String k = "channels.email";
        String host = value(k + ".host", e.host(), env);
        String pickup = value(k + ".pickup_dir", e.pickupDir(), env);
        if (pickup != null && host != null)
            throw new ConfigException(
                    k + ".pickup_dir: give either 'host' (send by SMTP) or 'pickup_dir' (write files)");
        if (pickup == null && (host == null || host.isBlank()))
            throw new ConfigException(k + ".host: the SMTP server's host is required (or a pickup_dir)");
        Channels.Email.Tls tls;
        String t = e.tls() == null ? "starttls" : e.tls();
        try {
            tls = Channels.Email.Tls.valueOf(t.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException x) {
            throw new ConfigException(k + ".tls: none, starttls or tls; got '" + t + "'");
        }
        int port = e.port() != null
                ? e.port()
                : switch (tls) {
                    case NONE -> 25;
                    case STARTTLS -> 587;
                    case TLS -> 465;
                };
        if (port < 1 || port > 65535) throw new ConfigException(k + ".port: must be 1-65535; got " + port);
        String from = value(k + ".from", e.from(), env);
        if (from == null || !from.contains("@"))
            throw new ConfigException(k + ".from: the sender's address is required; got '" + from + "'");
        Channels.Secret password = secret(k + ".password", e.password(), env);
        String user = value(k + ".username", e.username(), env);
        if (password != null && user == null) throw new ConfigException(k + ".password: given without a username");
        if (password != null && tls == Channels.Email.Tls.NONE && !loopback(host))
            throw new ConfigException(k + ".tls: 'none' would send the password in clear to " + host
                    + "; use starttls or tls (a login over plain SMTP is allowed only to this machine: localhost,"
                    + " 127.x.x.x or ::1)");
        return new Channels.Email(host, port, tls, user, password, from, pickup == null ? null : base.resolve(pickup));
    }

    private static List<Channels.Webhook> webhooks(List<WebhookSection> list, Map<String, String> env) {
        if (list == null) return List.of();
        List<Channels.Webhook> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            String k = "channels.webhooks[" + i + "]";
            WebhookSection w = list.get(i);
            if (w.name() == null || !NAME.matcher(w.name()).matches())
                throw new ConfigException(k + ".name: lower-case letters, digits, - and _; got '" + w.name() + "'");
            if (!names.add(w.name())) throw new ConfigException(k + ".name: '" + w.name() + "' is given twice");
            URI url = url(k + ".url", required(k + ".url", value(k + ".url", w.url(), env)));
            Channels.Secret secret = required(k + ".secret", secret(k + ".secret", w.secret(), env));
            if (!secret.value().startsWith("whsec_"))
                throw new ConfigException(k + ".secret: a Standard Webhooks secret starts with whsec_");
            try {
                if (java.util.Base64.getDecoder().decode(secret.value().substring(6)).length < 24)
                    throw new ConfigException(k + ".secret: must decode to at least 24 bytes");
            } catch (IllegalArgumentException x) {
                throw new ConfigException(k + ".secret: the part after whsec_ is not base64");
            }
            out.add(new Channels.Webhook(w.name(), url, secret, w.events()));
        }
        return out;
    }

    private static boolean loopback(String host) {
        return host != null && LOOPBACK.matcher(host).matches();
    }

    private static Channels.Delivery delivery(DeliverySection d) {
        Channels.Delivery def = Channels.Delivery.defaults();
        if (d == null) return def;
        int max = d.maxAttempts() == null ? def.maxAttempts() : d.maxAttempts();
        if (max < 1 || max > 100)
            throw new ConfigException("channels.delivery.max_attempts: must be 1-100; got " + max);
        return new Channels.Delivery(
                max,
                positive("channels.delivery.first_backoff", d.firstBackoff(), def.firstBackoff()),
                positive("channels.delivery.max_backoff", d.maxBackoff(), def.maxBackoff()),
                positive("channels.delivery.timeout", d.timeout(), def.timeout()));
    }

    private static String value(String key, String raw, Map<String, String> env) {
        return raw == null ? null : McpSettings.resolve(key, raw, env);
    }

    private static Channels.Secret secret(String key, String raw, Map<String, String> env) {
        String v = value(key, raw, env);
        return v == null || v.isEmpty() ? null : new Channels.Secret(v);
    }

    private static <T> T required(String key, T value) {
        if (value == null) throw new ConfigException(key + ": is required");
        return value;
    }

    private static URI url(String key, String text) {
        try {
            URI u = new URI(text);
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null)
                throw new ConfigException(key + ": must be an http or https URL");
            return u;
        } catch (URISyntaxException e) {
            throw new ConfigException(key + ": not a URL");
        }
    }

    private static Duration positive(String key, String text, Duration fallback) {
        if (text == null) return fallback;
        Duration d;
        try {
            d = io.countersign.core.Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key + ": " + e.getMessage());
        }
        if (d.isZero() || d.isNegative()) throw new ConfigException(key + ": must be more than 0; got '" + text + "'");
        return d;
    }
}
