package io.countersign.server.config;

import io.countersign.mcp.McpConfig;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code mcp} section: upstream MCP servers and the gateway's timings. Header and environment
 * values may name environment variables ({@code ${NAME}}), so that secrets stay out of the file; a
 * variable that is not set fails the start, naming the key (never a value).
 */
final class McpSettings {
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");

    private McpSettings() {}

    /** The section as written. */
    record Section(
            String hold,
            String progressInterval,
            String requestTimeout,
            Boolean logPayloads,
            List<String> allowedOrigins,
            List<UpstreamSection> upstreams) {}

    record UpstreamSection(
            String name,
            List<String> command,
            Map<String, String> env,
            String url,
            Map<String, String> headers,
            String resourceEnv,
            List<String> tags,
            Map<String, List<String>> toolTags) {}

    static McpConfig mcp(Section s, Map<String, String> environment) {
        if (s == null) return McpConfig.none();
        Map<String, McpConfig.Upstream> upstreams = new LinkedHashMap<>();
        List<UpstreamSection> list = s.upstreams() == null ? List.of() : s.upstreams();
        for (int i = 0; i < list.size(); i++) {
            McpConfig.Upstream u = upstream("mcp.upstreams[" + i + "]", list.get(i), environment);
            if (upstreams.put(u.name(), u) != null)
                throw new ConfigException("mcp.upstreams[" + i + "].name: '" + u.name() + "' is given twice");
        }
        Duration hold = positive("mcp.hold", s.hold(), McpConfig.DEFAULT_HOLD);
        Duration progress = positive("mcp.progress_interval", s.progressInterval(), McpConfig.DEFAULT_PROGRESS);
        Duration timeout = positive("mcp.request_timeout", s.requestTimeout(), McpConfig.DEFAULT_TIMEOUT);
        return new McpConfig(
                upstreams, hold, progress, timeout, Boolean.TRUE.equals(s.logPayloads()), s.allowedOrigins());
    }

    private static McpConfig.Upstream upstream(String key, UpstreamSection u, Map<String, String> environment) {
        if (u.name() == null || !NAME.matcher(u.name()).matches())
            throw new ConfigException(key + ".name: lower-case letters, digits, - and _ (it is a URL segment);"
                    + " got '" + u.name() + "'");
        boolean stdio = u.command() != null && !u.command().isEmpty();
        if (stdio == (u.url() != null))
            throw new ConfigException(key + ": give either 'command' (a stdio server) or 'url' (Streamable HTTP)");
        if (!stdio && u.env() != null) throw new ConfigException(key + ".env: only a stdio server has an environment");
        if (stdio && u.headers() != null)
            throw new ConfigException(key + ".headers: only an HTTP server takes headers");
        URI url = null;
        if (!stdio) {
            try {
                url = new URI(u.url());
            } catch (URISyntaxException e) {
                // The value itself is not shown: a URL may carry a token in its query or user info.
                throw new ConfigException(
                        key + ".url: not a URL (" + e.getReason() + " at character " + e.getIndex() + ")");
            }
            if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme()))
                throw new ConfigException(key + ".url: must be http or https; got '" + url.getScheme() + ":'");
        }
        return new McpConfig.Upstream(
                u.name(),
                u.command(),
                resolve(key + ".env", u.env(), environment),
                url,
                resolve(key + ".headers", u.headers(), environment),
                u.resourceEnv(),
                u.tags(),
                u.toolTags());
    }

    /** Replaces each {@code ${NAME}} by the environment variable's value. */
    static Map<String, String> resolve(String key, Map<String, String> values, Map<String, String> environment) {
        if (values == null) return Map.of();
        Map<String, String> out = new LinkedHashMap<>();
        values.forEach((name, value) -> {
            if (value == null) throw new ConfigException(key + "." + name + ": needs a value");
            out.put(name, resolve(key + "." + name, value, environment));
        });
        return out;
    }

    /** {@code value} with each {@code ${NAME}} replaced by the environment variable's value. */
    static String resolve(String key, String value, Map<String, String> environment) {
        Matcher m = VARIABLE.matcher(value);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String v = environment.get(m.group(1));
            if (v == null) throw new ConfigException(key + ": the environment variable " + m.group(1) + " is not set");
            m.appendReplacement(sb, Matcher.quoteReplacement(v));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private static Duration positive(String key, String value, Duration fallback) {
        if (value == null) return fallback;
        Duration d;
        try {
            d = io.countersign.core.Durations.parse(value);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key + ": " + e.getMessage());
        }
        if (d.isZero() || d.isNegative()) throw new ConfigException(key + ": must be more than 0; got '" + value + "'");
        return d;
    }
}
