package io.countersign.server.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.countersign.core.Durations;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the YAML config file into a {@link ServerConfig}, refusing unknown keys and bad values
 * with the key and the value in the message. Command-line flags override the file.
 */
public final class ConfigLoader {
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
    private static final ObjectMapper YAML = YAMLMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private ConfigLoader() {}

    /** The file's shape. */
    record File(
            ServerSection server,
            String dataDir,
            String policy,
            List<IdentitySection> identities,
            String sweepInterval,
            String maxWait,
            LedgerSection ledger,
            OidcSection oidc,
            McpSettings.Section mcp,
            ChannelSettings.Section channels) {}

    record ServerSection(String host, Integer port) {}

    record LedgerSection(String keyFile, String origin, String checkpointInterval, Integer checkpointMaxEntries) {}

    record IdentitySection(
            String id,
            String kind,
            List<String> groups,
            String owner,
            String model,
            String riskTier,
            Map<String, String> attributes,
            String apiKeySha256,
            LinksSection links) {}

    record LinksSection(String oidc, String email, String slack, String teams) {}

    record OidcSection(
            List<IssuerSection> issuers,
            String jwksRefresh,
            String jwksMinRefetch,
            String jwksMaxAge,
            String httpTimeout,
            ConsoleSection console) {}

    record ConsoleSection(String issuer, String clientId, String clientSecret, String sessionTtl) {}

    record IssuerSection(
            String issuer,

            @com.fasterxml.jackson.annotation.JsonFormat(
                    with = com.fasterxml.jackson.annotation.JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
            List<String> audience,

            String jwksUri,
            List<String> algorithms,
            String clockSkew,
            String idClaim,
            String idPrefix,
            String emailClaim,
            Boolean requireVerifiedEmail,
            String groupsClaim,
            ClaimMatchSection agentClaim,
            ClaimMatchSection humanClaim,
            Boolean clientCredentialsAgents,
            String ownerClaim,
            Map<String, String> linkClaims,
            Boolean allowUnlinked) {}

    record ClaimMatchSection(String name, String value) {}

    /**
     * Flags given on the command line; null where not given.
     *
     * @param config the config file
     * @param dataDir --data
     * @param port --port
     * @param host --host
     * @param policy --policy
     */
    public record Overrides(Path config, Path dataDir, Integer port, String host, Path policy) {}

    /** Loads {@code overrides.config()} (if any), applies the flags, and validates everything. */
    public static ServerConfig load(Overrides o) {
        return load(o, System.getenv());
    }

    /** As {@link #load(Overrides)}, with {@code environment} for the {@code ${VAR}}s in the file. */
    static ServerConfig load(Overrides o, Map<String, String> environment) {
        File f = o.config() == null
                ? new File(null, null, null, null, null, null, null, null, null, null)
                : read(o.config());
        ServerSection server = f.server() == null ? new ServerSection(null, null) : f.server();
        String host = first(o.host(), server.host(), ServerConfig.DEFAULT_HOST);
        int port = first(o.port(), server.port(), ServerConfig.DEFAULT_PORT);
        if (port < 0 || port > 65535) throw new ConfigException("server.port: must be 0-65535; got " + port);
        if (!hostLike(host))
            throw new ConfigException((o.host() != null ? "--host" : "server.host")
                    + ": not an IP address or a host name; got '" + host + "'");
        Path base =
                o.config() == null ? Path.of("") : o.config().toAbsolutePath().getParent();
        Path dataDir = first(
                o.dataDir(), f.dataDir() == null ? null : base.resolve(f.dataDir()), ServerConfig.DEFAULT_DATA_DIR);
        Path policy =
                first(o.policy(), f.policy() == null ? null : base.resolve(f.policy()), ServerConfig.DEFAULT_POLICY);
        if (!Files.isRegularFile(policy)) throw new ConfigException("policy: no such file: " + policy);
        boolean demo = f.identities() == null;
        ServerConfig.Oidc oidc = OidcSettings.oidc(f.oidc(), System.getenv());
        List<ServerConfig.Identity> identities =
                demo ? DemoIdentities.prepare(dataDir) : identities(f.identities(), oidc);
        return new ServerConfig(
                host,
                port,
                dataDir,
                policy,
                identities,
                duration("sweep_interval", f.sweepInterval(), ServerConfig.DEFAULT_SWEEP),
                duration("max_wait", f.maxWait(), ServerConfig.DEFAULT_MAX_WAIT),
                demo,
                ledger(f.ledger(), base),
                oidc,
                McpSettings.mcp(f.mcp(), environment),
                ChannelSettings.channels(f.channels(), environment, base));
    }

    private static ServerConfig.Ledger ledger(LedgerSection l, Path base) {
        if (l == null) return ServerConfig.Ledger.defaults();
        Path keyFile = l.keyFile() == null ? null : base.resolve(l.keyFile());
        if (keyFile != null && !Files.isRegularFile(keyFile))
            throw new ConfigException("ledger.key_file: no such file: " + keyFile);
        if (l.origin() != null && !l.origin().matches("[^\\s+]+"))
            throw new ConfigException("ledger.origin: a log name has no spaces and no '+'; got '" + l.origin() + "'");
        Duration interval =
                duration("ledger.checkpoint_interval", l.checkpointInterval(), ServerConfig.Ledger.DEFAULT_INTERVAL);
        if (interval.isZero()) throw new ConfigException("ledger.checkpoint_interval: must be more than 0");
        int max = l.checkpointMaxEntries() == null ? ServerConfig.Ledger.DEFAULT_MAX_ENTRIES : l.checkpointMaxEntries();
        if (max < 1) throw new ConfigException("ledger.checkpoint_max_entries: must be at least 1; got " + max);
        return new ServerConfig.Ledger(keyFile, l.origin(), interval, max);
    }

    private static final Pattern IPV4_LIKE = Pattern.compile("[0-9.]+");
    private static final Pattern HOST_LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");

    /**
     * Whether {@code h} can name an interface: a dotted-quad IPv4 address, an IPv6 literal (bare or
     * in brackets), or a host name. Checked by its form alone, without a DNS lookup at start.
     */
    static boolean hostLike(String h) {
        if (h == null || h.isEmpty() || h.length() > 253) return false;
        if (h.startsWith("[") && h.endsWith("]")) h = h.substring(1, h.length() - 1);
        if (h.contains(":")) {
            try {
                return java.net.InetAddress.getByName(h) instanceof java.net.Inet6Address; // a literal: no lookup
            } catch (java.net.UnknownHostException e) {
                return false;
            }
        }
        if (IPV4_LIKE.matcher(h).matches()) {
            String[] octets = h.split("\\.", -1);
            if (octets.length != 4) return false;
            for (String o : octets) if (o.isEmpty() || o.length() > 3 || Integer.parseInt(o) > 255) return false;
            return true;
        }
        for (String label : h.split("\\.", -1)) if (!HOST_LABEL.matcher(label).matches()) return false;
        return true;
    }

    /** examples/policy.yaml of the installation (the launcher sets countersign.home), else of the working directory. */
    static Path defaultPolicy() {
        String home = System.getProperty("countersign.home");
        return home == null ? ServerConfig.DEFAULT_POLICY : Path.of(home).resolve(ServerConfig.DEFAULT_POLICY);
    }

    /** The key's path as written in the file, e.g. {@code server.prot} or {@code identities[2].knd}. */
    private static String keyPath(com.fasterxml.jackson.databind.JsonMappingException e) {
        StringBuilder out = new StringBuilder();
        for (var ref : e.getPath()) {
            if (ref.getFieldName() == null)
                out.append('[').append(ref.getIndex()).append(']');
            else out.append(out.isEmpty() ? "" : ".").append(ref.getFieldName());
        }
        return out.toString();
    }

    private static File read(Path path) {
        try {
            File f = YAML.readValue(Files.readString(path), File.class);
            if (f == null) throw new ConfigException(path + ": the file is empty");
            return f;
        } catch (UnrecognizedPropertyException e) {
            throw new ConfigException(
                    path + ": unknown key '" + keyPath(e) + "' (known here: " + e.getKnownPropertyIds() + ")");
        } catch (com.fasterxml.jackson.databind.JsonMappingException e) {
            String key = keyPath(e);
            String what = e instanceof com.fasterxml.jackson.databind.exc.MismatchedInputException m
                    ? io.countersign.core.json.JsonMismatch.describe(m)
                            .replace("an object", "a mapping")
                            .replace("an array", "a list")
                    : e.getOriginalMessage();
            if (e instanceof com.fasterxml.jackson.databind.exc.InvalidFormatException f && f.getValue() != null)
                what += "; got '" + f.getValue() + "'";
            throw new ConfigException(path + ": " + (key.isEmpty() ? "" : key + ": ") + what
                    + (e.getLocation() == null
                            ? ""
                            : " at line " + e.getLocation().getLineNr()));
        } catch (com.fasterxml.jackson.dataformat.yaml.JacksonYAMLParseException e) {
            throw new ConfigException(path + ": " + yamlSyntax(e));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ConfigException(path + ": " + e.getOriginalMessage() + " at line "
                    + e.getLocation().getLineNr());
        } catch (IOException e) {
            throw new ConfigException("cannot read config " + path + ": " + e.getMessage(), e);
        }
    }

    /** A YAML syntax error in one line: the parser's own problem and where it is (its own message spans several). */
    private static String yamlSyntax(com.fasterxml.jackson.dataformat.yaml.JacksonYAMLParseException e) {
        if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException m && m.getProblemMark() != null)
            return "not valid YAML at line " + (m.getProblemMark().getLine() + 1) + ", column "
                    + (m.getProblemMark().getColumn() + 1) + ": " + m.getProblem();
        return "not valid YAML: " + e.getOriginalMessage().lines().findFirst().orElse("");
    }

    static List<ServerConfig.Identity> identities(List<IdentitySection> sections) {
        return identities(sections, ServerConfig.Oidc.none());
    }

    static List<ServerConfig.Identity> identities(List<IdentitySection> sections, ServerConfig.Oidc oidc) {
        List<ServerConfig.Identity> out = new ArrayList<>();
        Set<String> hashes = new HashSet<>();
        Map<String, String> linked = new HashMap<>();
        for (int i = 0; i < sections.size(); i++) {
            IdentitySection s = sections.get(i);
            String key = "identities[" + i + "]";
            Principal p = principal(key, s);
            if (s.apiKeySha256() != null) {
                if (!SHA256_HEX.matcher(s.apiKeySha256()).matches()) {
                    throw new ConfigException(key + ".api_key_sha256: must be 64 lower-case hex digits"
                            + " (run 'countersign keygen'); got '" + s.apiKeySha256() + "'");
                }
                if (!hashes.add(s.apiKeySha256()))
                    throw new ConfigException(key + ".api_key_sha256: the same key hash is given twice");
            }
            ServerConfig.Links links = OidcSettings.links(key + ".links", s.links(), oidc);
            OidcSettings.claimLinks(key + ".links", p.id(), links, linked);
            out.add(new ServerConfig.Identity(p, s.apiKeySha256(), links));
        }
        checkReferences(out);
        return out;
    }

    private static Principal principal(String key, IdentitySection s) {
        PrincipalKind kind;
        try {
            kind = PrincipalKind.fromWire(s.kind());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key + ".kind: " + e.getMessage());
        }
        try {
            return new Principal(
                    s.id(),
                    kind,
                    s.groups() == null ? Set.of() : Set.copyOf(s.groups()),
                    s.owner(),
                    s.model(),
                    s.riskTier(),
                    s.attributes());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key + " (" + s.id() + "): " + e.getMessage());
        }
    }

    private static void checkReferences(List<ServerConfig.Identity> identities) {
        Map<String, Principal> byId = new HashMap<>();
        for (ServerConfig.Identity i : identities) {
            if (byId.put(i.principal().id(), i.principal()) != null) {
                throw new ConfigException("identities: id '" + i.principal().id() + "' is declared twice");
            }
        }
        for (ServerConfig.Identity i : identities) {
            String owner = i.principal().owner();
            if (owner != null && (byId.get(owner) == null || !byId.get(owner).isHuman())) {
                throw new ConfigException(
                        "identities (" + i.principal().id() + ").owner: '" + owner + "' is not a declared human");
            }
        }
    }

    private static Duration duration(String key, String text, Duration fallback) {
        if (text == null) return fallback;
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key + ": " + e.getMessage());
        }
    }

    @SafeVarargs
    private static <T> T first(T... values) {
        for (T v : values) {
            if (v != null) return v;
        }
        throw new IllegalStateException("no default");
    }

    /** The {@code oidc} section and each identity's {@code links}, validated against each other. */
    static final class OidcSettings {
        private static final Duration MAX_CLOCK_SKEW = Duration.ofMinutes(5);
        private static final Duration MAX_SESSION_TTL = Duration.ofDays(30);
        private static final Pattern ID_PREFIX = Pattern.compile("([A-Za-z0-9][A-Za-z0-9._@:+-]{0,63})?");
        private static final Set<String> LINK_CLAIM_KINDS = Set.of("slack", "teams");
        private static final Pattern LOOPBACK =
                Pattern.compile("localhost|\\[::1]|127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");

        private OidcSettings() {}

        static ServerConfig.Oidc oidc(OidcSection o, Map<String, String> env) {
            if (o == null) return ServerConfig.Oidc.none();
            if (o.issuers() == null || o.issuers().isEmpty())
                throw new ConfigException("oidc.issuers: list at least one issuer, or leave out the oidc section");
            List<ServerConfig.Issuer> issuers = new ArrayList<>();
            for (int i = 0; i < o.issuers().size(); i++) {
                issuers.add(issuer("oidc.issuers[" + i + "]", o.issuers().get(i)));
            }
            distinct(issuers);
            Duration refresh = positive("oidc.jwks_refresh", o.jwksRefresh(), ServerConfig.Oidc.DEFAULT_JWKS_REFRESH);
            Duration maxAge = positive("oidc.jwks_max_age", o.jwksMaxAge(), ServerConfig.Oidc.DEFAULT_JWKS_MAX_AGE);
            if (refresh.compareTo(maxAge) >= 0)
                throw new ConfigException("oidc.jwks_refresh: must be shorter than jwks_max_age (" + maxAge
                        + "), or keys would age out between refreshes; got " + refresh);
            return new ServerConfig.Oidc(
                    issuers,
                    refresh,
                    duration("oidc.jwks_min_refetch", o.jwksMinRefetch(), ServerConfig.Oidc.DEFAULT_JWKS_MIN_REFETCH),
                    maxAge,
                    positive("oidc.http_timeout", o.httpTimeout(), ServerConfig.Oidc.DEFAULT_HTTP_TIMEOUT),
                    console(o.console(), issuers, env));
        }

        /** The console's sign-in: a client of one of the trusted issuers. */
        private static ServerConfig.Console console(
                ConsoleSection c, List<ServerConfig.Issuer> issuers, Map<String, String> env) {
            if (c == null) return null;
            String k = "oidc.console";
            if (blank(c.issuer()))
                throw new ConfigException(k + ".issuer: required: the issuer people sign in with, one of oidc.issuers");
            if (issuers.stream().noneMatch(i -> i.issuer().equals(c.issuer())))
                throw new ConfigException(k + ".issuer: '" + c.issuer() + "' is not one of oidc.issuers ("
                        + issuers.stream().map(ServerConfig.Issuer::issuer).toList() + ")");
            if (blank(c.clientId()) || c.clientId().chars().anyMatch(Character::isWhitespace))
                throw new ConfigException(
                        k + ".client_id: required: the client id registered at the issuer; got '" + c.clientId() + "'");
            String secret = c.clientSecret() == null
                    ? null
                    : McpSettings.resolve(k, Map.of("client_secret", c.clientSecret()), env)
                            .get("client_secret");
            Duration ttl = positive(k + ".session_ttl", c.sessionTtl(), ServerConfig.Console.DEFAULT_SESSION_TTL);
            if (ttl.compareTo(MAX_SESSION_TTL) > 0)
                throw new ConfigException(
                        k + ".session_ttl: at most " + MAX_SESSION_TTL.toDays() + "d; got '" + c.sessionTtl() + "'");
            return new ServerConfig.Console(
                    c.issuer(),
                    c.clientId(),
                    secret == null || secret.isEmpty() ? null : new Channels.Secret(secret),
                    ttl);
        }

        private static ServerConfig.Issuer issuer(String key, IssuerSection s) {
            String issuer = url(key + ".issuer", s.issuer());
            if (s.audience() == null
                    || s.audience().isEmpty()
                    || s.audience().stream().anyMatch(ConfigLoader.OidcSettings::blank))
                throw new ConfigException(key + ".audience: required: the audience (or list of audiences) this"
                        + " server's tokens carry in 'aud'; got " + s.audience());
            ServerConfig.Issuer.Builder b =
                    ServerConfig.Issuer.builder(issuer, s.audience().get(0)).audiences(Set.copyOf(s.audience()));
            if (s.jwksUri() != null) b.jwksUri(java.net.URI.create(url(key + ".jwks_uri", s.jwksUri())));
            if (s.algorithms() != null) b.algorithms(algorithms(key + ".algorithms", s.algorithms()));
            if (s.clockSkew() != null) b.clockSkew(skew(key + ".clock_skew", s.clockSkew()));
            if (s.idClaim() != null) b.idClaim(claim(key + ".id_claim", s.idClaim()));
            if (s.idPrefix() != null) b.idPrefix(idPrefix(key + ".id_prefix", s.idPrefix()));
            if (s.emailClaim() != null) b.emailClaim(claim(key + ".email_claim", s.emailClaim()));
            if (s.requireVerifiedEmail() != null) b.requireVerifiedEmail(s.requireVerifiedEmail());
            if (s.groupsClaim() != null) b.groupsClaim(claim(key + ".groups_claim", s.groupsClaim()));
            if (s.agentClaim() != null)
                b.agentClaim(claimMatch(key + ".agent_claim", s.agentClaim(), "{ name: kind, value: agent }"));
            if (s.humanClaim() != null)
                b.humanClaim(claimMatch(key + ".human_claim", s.humanClaim(), "{ name: roles, value: reviewer }"));
            if (s.agentClaim() != null && s.agentClaim().equals(s.humanClaim()))
                throw new ConfigException(
                        key + ".human_claim: " + s.humanClaim().name() + " = "
                                + s.humanClaim().value() + " is also the agent_claim; a token cannot be both");
            if (s.clientCredentialsAgents() != null) b.clientCredentialsAgents(s.clientCredentialsAgents());
            if (s.ownerClaim() != null) b.ownerClaim(claim(key + ".owner_claim", s.ownerClaim()));
            if (s.linkClaims() != null) b.linkClaims(linkClaims(key + ".link_claims", s.linkClaims()));
            if (s.allowUnlinked() != null) b.allowUnlinked(s.allowUnlinked());
            return b.build();
        }

        /** https, or http to this machine only (a local test IdP); no query or fragment (OIDC Discovery 1.0 §2). */
        private static String url(String key, String value) {
            if (blank(value)) throw new ConfigException(key + ": required; got '" + value + "'");
            java.net.URI u;
            try {
                u = new java.net.URI(value);
            } catch (java.net.URISyntaxException e) {
                throw new ConfigException(key + ": not a URL: '" + value + "'");
            }
            String host = u.getHost();
            boolean loopback = host != null && LOOPBACK.matcher(host).matches();
            boolean ok = "https".equals(u.getScheme()) || ("http".equals(u.getScheme()) && loopback);
            if (!ok || host == null || u.getRawQuery() != null || u.getRawFragment() != null)
                throw new ConfigException(key + ": must be an https URL (http only to localhost) without query or"
                        + " fragment; got '" + value + "'");
            return value;
        }

        private static Set<String> algorithms(String key, List<String> names) {
            if (names.isEmpty()) throw new ConfigException(key + ": list at least one algorithm");
            for (String n : names) {
                if (!ServerConfig.Issuer.ASYMMETRIC_ALGORITHMS.contains(n))
                    throw new ConfigException(key + ": '" + n + "' is not accepted; only asymmetric signatures are ("
                            + new java.util.TreeSet<>(ServerConfig.Issuer.ASYMMETRIC_ALGORITHMS)
                            + "), never 'none' or HMAC");
            }
            return Set.copyOf(names);
        }

        private static Duration skew(String key, String text) {
            Duration d = duration(key, text, ServerConfig.Issuer.DEFAULT_CLOCK_SKEW);
            if (d.compareTo(MAX_CLOCK_SKEW) > 0)
                throw new ConfigException(key + ": at most " + MAX_CLOCK_SKEW.toMinutes() + "m; got '" + text + "'");
            return d;
        }

        private static String claim(String key, String name) {
            if (blank(name)) throw new ConfigException(key + ": a claim name; got '" + name + "'");
            return name;
        }

        private static String idPrefix(String key, String prefix) {
            if (!ID_PREFIX.matcher(prefix).matches())
                throw new ConfigException(key + ": letters, digits and ._@:+- starting with a letter or digit, at most"
                        + " 64; got '" + prefix + "'");
            return prefix;
        }

        private static ServerConfig.ClaimMatch claimMatch(String key, ClaimMatchSection a, String example) {
            if (blank(a.name()) || blank(a.value()))
                throw new ConfigException(key + ": needs both name and value, e.g. " + example + "; got { name: "
                        + a.name() + ", value: " + a.value() + " }");
            return new ServerConfig.ClaimMatch(a.name(), a.value());
        }

        private static Map<String, String> linkClaims(String key, Map<String, String> claims) {
            for (var e : claims.entrySet()) {
                if (!LINK_CLAIM_KINDS.contains(e.getKey()))
                    throw new ConfigException(key + "." + e.getKey() + ": links come from claims only for "
                            + new java.util.TreeSet<>(LINK_CLAIM_KINDS) + " (email from email_claim)");
                claim(key + "." + e.getKey(), e.getValue());
            }
            return claims;
        }

        /** One issuer once; issuers that admit unlinked subjects name them each under their own prefix. */
        private static void distinct(List<ServerConfig.Issuer> issuers) {
            Map<String, String> prefixes = new HashMap<>();
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < issuers.size(); i++) {
                ServerConfig.Issuer is = issuers.get(i);
                if (!seen.add(is.issuer()))
                    throw new ConfigException("oidc.issuers[" + i + "].issuer: '" + is.issuer() + "' is listed twice");
                if (!is.allowUnlinked()) continue;
                String other = prefixes.putIfAbsent(is.idPrefix(), is.issuer());
                if (other != null)
                    throw new ConfigException("oidc.issuers[" + i + "].id_prefix: '" + is.idPrefix() + "' is also the"
                            + " prefix of " + other + ", so two people could get one id; give each issuer its own");
            }
        }

        static ServerConfig.Links links(String key, LinksSection l, ServerConfig.Oidc oidc) {
            if (l == null) return ServerConfig.Links.NONE;
            return new ServerConfig.Links(
                    l.oidc() == null ? null : oidcLink(key + ".oidc", l.oidc(), oidc),
                    l.email() == null ? null : email(key + ".email", l.email()),
                    l.slack() == null ? null : token(key + ".slack", l.slack()),
                    l.teams() == null ? null : token(key + ".teams", l.teams()));
        }

        /** {@code <issuer>#<subject>}; a bare subject is of the only issuer. */
        private static String oidcLink(String key, String value, ServerConfig.Oidc oidc) {
            if (!oidc.enabled()) throw new ConfigException(key + ": no oidc.issuers are configured");
            int hash = value.indexOf('#');
            if (hash < 0) {
                if (oidc.issuers().size() > 1)
                    throw new ConfigException(key + ": with " + oidc.issuers().size()
                            + " issuers, write '<issuer>#<subject>'; got '" + value + "'");
                return oidc.issuers().get(0).issuer() + "#" + token(key, value);
            }
            String issuer = value.substring(0, hash);
            if (oidc.issuers().stream().noneMatch(i -> i.issuer().equals(issuer)))
                throw new ConfigException(key + ": '" + issuer + "' is not one of oidc.issuers");
            return issuer + "#" + token(key, value.substring(hash + 1));
        }

        private static String email(String key, String value) {
            String v = token(key, value).toLowerCase(java.util.Locale.ROOT);
            if (v.indexOf('@') < 1 || v.indexOf('@') == v.length() - 1)
                throw new ConfigException(key + ": not an email address: '" + value + "'");
            return v;
        }

        private static String token(String key, String value) {
            if (blank(value) || value.chars().anyMatch(Character::isWhitespace))
                throw new ConfigException(key + ": must be non-empty without spaces; got '" + value + "'");
            return value;
        }

        /** Each outside identity is one principal's. */
        static void claimLinks(String key, String id, ServerConfig.Links links, Map<String, String> linked) {
            claim(key + ".oidc", "oidc", links.oidc(), id, linked);
            claim(key + ".email", "email", links.email(), id, linked);
            claim(key + ".slack", "slack", links.slack(), id, linked);
            claim(key + ".teams", "teams", links.teams(), id, linked);
        }

        private static void claim(String key, String kind, String value, String id, Map<String, String> linked) {
            if (value == null) return;
            String other = linked.putIfAbsent(kind + " " + value, id);
            if (other != null) throw new ConfigException(key + ": '" + value + "' is already linked to " + other);
        }

        private static Duration positive(String key, String text, Duration fallback) {
            Duration d = duration(key, text, fallback);
            if (d.isZero() || d.isNegative())
                throw new ConfigException(key + ": must be more than 0; got '" + text + "'");
            return d;
        }

        private static boolean blank(String s) {
            return s == null || s.isBlank();
        }
    }
}
