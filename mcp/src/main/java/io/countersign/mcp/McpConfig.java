package io.countersign.mcp;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The gateway's configuration: the upstream MCP servers and how long a call waits for approval.
 *
 * @param upstreams by name
 * @param hold how long a {@code tools/call} that needs approval is held before it returns an {@code
 *     isError} result naming the request (the same call, retried once approved, runs)
 * @param progressInterval how often a held call sends a progress notification, when the client asked for them
 * @param requestTimeout how long an upstream may take to answer one request before the agent gets an error
 *     (and a stdio upstream is restarted)
 * @param logPayloads whether what upstreams return may be logged (debug level); off by default
 * @param allowedOrigins browser origins besides localhost that may reach the gateway
 */
public record McpConfig(
        Map<String, Upstream> upstreams,
        Duration hold,
        Duration progressInterval,
        Duration requestTimeout,
        boolean logPayloads,
        List<String> allowedOrigins) {
    public static final Duration DEFAULT_HOLD = Duration.ofSeconds(60);
    public static final Duration DEFAULT_PROGRESS = Duration.ofSeconds(5);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    public McpConfig {
        upstreams = Map.copyOf(upstreams);
        Objects.requireNonNull(hold);
        Objects.requireNonNull(progressInterval);
        Objects.requireNonNull(requestTimeout);
        allowedOrigins = allowedOrigins == null ? List.of() : List.copyOf(allowedOrigins);
    }

    /**
     * What a stdio server inherits from Countersign's environment: what finding programs and running
     * them needs (the set the MCP SDKs pass by default), no more. The rest of the server's
     * environment holds its own secrets (a Slack token, an SMTP password, other upstreams' {@code
     * ${VAR}} values), and an upstream is often a third party's package: it gets its own {@code env}
     * from the config and these.
     */
    public static final Set<String> INHERITED_ENVIRONMENT =
            Set.of("PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR");

    public static McpConfig none() {
        return new McpConfig(Map.of(), DEFAULT_HOLD, DEFAULT_PROGRESS, DEFAULT_TIMEOUT, false, List.of());
    }

    /**
     * One upstream MCP server: a stdio command or a Streamable HTTP URL.
     *
     * @param name its name: the gateway serves it at {@code /mcp/{name}}; tool resources are {@code name/tool}
     * @param command for stdio: the program and its arguments; empty for HTTP
     * @param environment for stdio: the child's environment variables (secrets resolved already), beside the
     *     few it inherits ({@link #INHERITED_ENVIRONMENT})
     * @param url for HTTP: the upstream's MCP endpoint; null for stdio
     * @param headers for HTTP: headers sent to the upstream (secrets resolved already); the agent's own
     *     credential is never passed through
     * @param env the resource environment its tools act in ({@code resource.env} in policy)
     * @param tags resource tags of every tool
     * @param toolTags extra tags per tool name
     */
    public record Upstream(
            String name,
            List<String> command,
            Map<String, String> environment,
            URI url,
            Map<String, String> headers,
            String env,
            List<String> tags,
            Map<String, List<String>> toolTags) {
        public Upstream {
            Objects.requireNonNull(name, "name");
            command = command == null ? List.of() : List.copyOf(command);
            environment = environment == null ? Map.of() : Map.copyOf(environment);
            headers = headers == null ? Map.of() : Map.copyOf(headers);
            tags = tags == null ? List.of() : List.copyOf(tags);
            toolTags = toolTags == null ? Map.of() : Map.copyOf(toolTags);
            if (command.isEmpty() == (url == null))
                throw new IllegalArgumentException("upstream " + name + ": give either a command or a url");
        }

        public boolean isStdio() {
            return url == null;
        }

        /** Headers and environment hold secrets, and a URL's user info and query may: never print them. */
        @Override
        public String toString() {
            return "Upstream[" + name + ", " + (isStdio() ? "stdio " + command.getFirst() : "http " + shown(url)) + "]";
        }

        /** A URL fit to print: its scheme, host, port and path, without user info, query or fragment. */
        public static String shown(java.net.URI url) {
            return url.getScheme() + "://" + url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort())
                    + (url.getRawPath() == null ? "" : url.getRawPath())
                    + (url.getRawUserInfo() != null || url.getRawQuery() != null || url.getRawFragment() != null
                            ? " (user info, query or fragment not shown)"
                            : "");
        }
    }
}
