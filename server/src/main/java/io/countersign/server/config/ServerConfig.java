package io.countersign.server.config;

import io.countersign.core.Principal;
import io.countersign.mcp.McpConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything the server needs, validated once at start by {@link ConfigLoader}. Defaults beside
 * each option are those of the embedded mode: {@code countersign serve} with no flags.
 *
 * @param host interface to bind; default {@code 127.0.0.1}
 * @param port TCP port; default {@code 8080}, 0 picks a free one
 * @param dataDir where the SQLite database (and demo keys) live; default {@code ./data}
 * @param policyFile the policy; default {@code examples/policy.yaml}
 * @param identities principals and the SHA-256 of their API keys
 * @param sweepInterval how often expiry is swept; default {@code 1s}
 * @param maxWait the longest {@code ?wait=} a client may ask for; default {@code 5m}
 * @param demo whether these are the generated demo identities (printed at start)
 * @param ledger how the ledger signs its checkpoints
 * @param oidc the identity providers whose bearer tokens are accepted; default none
 * @param mcp the MCP gateway's upstream servers and timings; default none
 * @param channels Slack, Teams, email and webhooks; default none
 */
public record ServerConfig(
        String host,
        int port,
        Path dataDir,
        Path policyFile,
        List<Identity> identities,
        Duration sweepInterval,
        Duration maxWait,
        boolean demo,
        Ledger ledger,
        Oidc oidc,
        McpConfig mcp,
        Channels channels) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8080;
    public static final Path DEFAULT_DATA_DIR = Path.of("data");
    public static final Path DEFAULT_POLICY = Path.of("examples", "policy.yaml");
    public static final Duration DEFAULT_SWEEP = Duration.ofSeconds(1);
    public static final Duration DEFAULT_MAX_WAIT = Duration.ofMinutes(5);

    public ServerConfig {
        identities = List.copyOf(identities);
        ledger = ledger == null ? Ledger.defaults() : ledger;
        oidc = oidc == null ? Oidc.none() : oidc;
        mcp = mcp == null ? McpConfig.none() : mcp;
        channels = channels == null ? Channels.none() : channels;
    }

    /**
     * A server on loopback at any free port, with the default timings and ledger and no identity
     * providers, MCP upstreams or channels: for servers embedded in tests and benchmarks, whose
     * {@code with...} methods change the rest.
     */
    public static ServerConfig local(Path dataDir, Path policyFile, List<Identity> identities) {
        return new ServerConfig(
                DEFAULT_HOST,
                0,
                dataDir,
                policyFile,
                identities,
                DEFAULT_SWEEP,
                DEFAULT_MAX_WAIT,
                false,
                null,
                null,
                null,
                null);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(
                host, p, dataDir, policyFile, identities, sweepInterval, maxWait, demo, ledger, oidc, mcp, channels);
    }

    public ServerConfig withMaxWait(Duration w) {
        return new ServerConfig(
                host, port, dataDir, policyFile, identities, sweepInterval, w, demo, ledger, oidc, mcp, channels);
    }

    public ServerConfig withMcp(McpConfig m) {
        return new ServerConfig(
                host, port, dataDir, policyFile, identities, sweepInterval, maxWait, demo, ledger, oidc, m, channels);
    }

    public ServerConfig withLedger(Ledger l) {
        return new ServerConfig(
                host, port, dataDir, policyFile, identities, sweepInterval, maxWait, demo, l, oidc, mcp, channels);
    }

    public ServerConfig withOidc(Oidc o) {
        return new ServerConfig(
                host, port, dataDir, policyFile, identities, sweepInterval, maxWait, demo, ledger, o, mcp, channels);
    }

    public ServerConfig withChannels(Channels c) {
        return new ServerConfig(
                host, port, dataDir, policyFile, identities, sweepInterval, maxWait, demo, ledger, oidc, mcp, c);
    }

    /**
     * The ledger's settings.
     *
     * @param keyFile the checkpoint signing key ({@code PRIVATE+KEY+...}); default {@code
     *     <data_dir>/ledger.key}, generated at first start
     * @param origin the log's name, used when the key is generated; default {@code
     *     countersign.local/<random id>}
     * @param checkpointInterval the longest an event waits for a signed checkpoint; default {@code 1s}
     * @param checkpointMaxEntries sign sooner when this many events wait; default 10,000
     */
    public record Ledger(Path keyFile, String origin, Duration checkpointInterval, int checkpointMaxEntries) {
        public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
        public static final int DEFAULT_MAX_ENTRIES = 10_000;

        /** Every default: the key in the data directory. */
        public static Ledger defaults() {
            return new Ledger(null, null, DEFAULT_INTERVAL, DEFAULT_MAX_ENTRIES);
        }
    }

    /**
     * A principal, the hex SHA-256 of its API key (the key itself is never stored) and the outside
     * identities that are the same person or agent.
     *
     * @param principal who it is
     * @param apiKeySha256 lower-case hex SHA-256 of its API key, or null for no key
     * @param links its OIDC subject, email address, Slack and Teams user ids; default none
     */
    public record Identity(Principal principal, String apiKeySha256, Links links) {
        public Identity {
            links = links == null ? Links.NONE : links;
        }

        /** An identity without links. */
        public Identity(Principal principal, String apiKeySha256) {
            this(principal, apiKeySha256, Links.NONE);
        }
    }

    /**
     * The outside identities of one principal; each null when absent. A value is linked to at most
     * one principal.
     *
     * @param oidc {@code <issuer>#<subject>}: the subject of a configured issuer's tokens
     * @param email an email address, lower case
     * @param slack a Slack user id, e.g. {@code U012ABC}
     * @param teams a Microsoft Teams user id (e.g. {@code 29:...} or the Entra object id)
     */
    public record Links(String oidc, String email, String slack, String teams) {
        public static final Links NONE = new Links(null, null, null, null);
    }

    /**
     * The OpenID Connect issuers whose bearer JWTs authenticate people and agents.
     *
     * @param issuers the trusted issuers; default none (API keys only)
     * @param jwksRefresh how often each issuer's keys are fetched in the background; default {@code 5m}
     * @param jwksMinRefetch the least time between two fetches that an unknown key id triggers;
     *     default {@code 10s}
     * @param jwksMaxAge keys not refreshed for this long are no longer used (tokens then fail
     *     closed with 503); default {@code 1h}
     * @param httpTimeout connect and read timeout of each discovery and key fetch; default {@code 5s}
     * @param console how people sign in to the console through one of the issuers; default none
     *     (people sign in with their API key)
     */
    public record Oidc(
            List<Issuer> issuers,
            Duration jwksRefresh,
            Duration jwksMinRefetch,
            Duration jwksMaxAge,
            Duration httpTimeout,
            Console console) {
        public static final Duration DEFAULT_JWKS_REFRESH = Duration.ofMinutes(5);
        public static final Duration DEFAULT_JWKS_MIN_REFETCH = Duration.ofSeconds(10);
        public static final Duration DEFAULT_JWKS_MAX_AGE = Duration.ofHours(1);
        public static final Duration DEFAULT_HTTP_TIMEOUT = Duration.ofSeconds(5);

        public Oidc {
            issuers = List.copyOf(issuers);
            if (console != null && issuers.stream().noneMatch(i -> i.issuer().equals(console.issuer())))
                throw new IllegalArgumentException("the console's issuer " + console.issuer() + " is not trusted");
        }

        /** Without console sign-in through an issuer. */
        public Oidc(
                List<Issuer> issuers,
                Duration jwksRefresh,
                Duration jwksMinRefetch,
                Duration jwksMaxAge,
                Duration httpTimeout) {
            this(issuers, jwksRefresh, jwksMinRefetch, jwksMaxAge, httpTimeout, null);
        }

        public Oidc withConsole(Console c) {
            return new Oidc(issuers, jwksRefresh, jwksMinRefetch, jwksMaxAge, httpTimeout, c);
        }

        /** These issuers, every other setting at its default. */
        public static Oidc of(List<Issuer> issuers) {
            return new Oidc(
                    issuers,
                    DEFAULT_JWKS_REFRESH,
                    DEFAULT_JWKS_MIN_REFETCH,
                    DEFAULT_JWKS_MAX_AGE,
                    DEFAULT_HTTP_TIMEOUT);
        }

        /** No issuers: only API keys authenticate. */
        public static Oidc none() {
            return of(List.of());
        }

        public boolean enabled() {
            return !issuers.isEmpty();
        }
    }

    /**
     * How people sign in to the console: OpenID Connect authorization code with PKCE at one of the
     * trusted issuers, as a client registered there.
     *
     * @param issuer one of {@code oidc.issuers}; its ID tokens map to principals as its bearer tokens do
     * @param clientId the client id registered at the issuer; ID tokens must name it in {@code aud}
     * @param clientSecret the client secret, or null for a public client (PKCE only)
     * @param sessionTtl how long a console session lasts; default {@code 8h}
     */
    public record Console(String issuer, String clientId, Channels.Secret clientSecret, Duration sessionTtl) {
        public static final Duration DEFAULT_SESSION_TTL = Duration.ofHours(8);

        public Console {
            java.util.Objects.requireNonNull(issuer, "issuer");
            java.util.Objects.requireNonNull(clientId, "clientId");
            sessionTtl = sessionTtl == null ? DEFAULT_SESSION_TTL : sessionTtl;
        }
    }

    /**
     * One trusted OpenID Connect issuer and how its tokens' claims become a principal. Built with
     * {@link #builder}, which holds every default.
     *
     * @param issuer the {@code iss} its tokens carry, exactly; discovery reads {@code
     *     <issuer>/.well-known/openid-configuration}
     * @param audiences a token's {@code aud} must name at least one of these; required
     * @param jwksUri where its keys are; default from the discovery document
     * @param algorithms accepted signature algorithms; default every asymmetric one ({@code none} and
     *     HMAC are never accepted)
     * @param clockSkew leeway for {@code exp} and {@code nbf}; default {@code 60s}
     * @param idClaim the claim that names a principal no identity is linked to; default {@code sub}
     * @param idPrefix put before that claim's value to make the principal id; default none
     * @param emailClaim the email address claim; default {@code email}
     * @param requireVerifiedEmail link by email only when {@code email_verified} is true; default true
     * @param groupsClaim the claim listing groups (a name, or a dotted path); default {@code groups}
     * @param agentClaim a claim and value that mark an agent's token; default none
     * @param humanClaim a claim and value that mark a person's token, for tokens no identity is
     *     linked to; default none: then a verified email marks one
     * @param clientCredentialsAgents whether client-credentials tokens are agents; default true
     * @param ownerClaim for agents no identity is linked to: the claim naming the accountable
     *     human; default {@code owner}
     * @param linkClaims claims carrying a Slack or Teams user id ({@code slack}, {@code teams}) that
     *     link the token's principal to that user; default none
     * @param allowUnlinked whether tokens whose subject no identity links to are admitted; default true
     */
    public record Issuer(
            String issuer,
            Set<String> audiences,
            java.net.URI jwksUri,
            Set<String> algorithms,
            Duration clockSkew,
            String idClaim,
            String idPrefix,
            String emailClaim,
            boolean requireVerifiedEmail,
            String groupsClaim,
            ClaimMatch agentClaim,
            ClaimMatch humanClaim,
            boolean clientCredentialsAgents,
            String ownerClaim,
            Map<String, String> linkClaims,
            boolean allowUnlinked) {
        public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(60);
        public static final Set<String> ASYMMETRIC_ALGORITHMS = Set.of(
                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519");

        public Issuer {
            audiences = Set.copyOf(audiences);
            algorithms = Set.copyOf(algorithms);
            linkClaims = Map.copyOf(linkClaims);
        }

        public static Builder builder(String issuer, String audience) {
            return new Builder(issuer, audience);
        }

        /** Every option at its default but the issuer and the audience. */
        public static final class Builder {
            private final String issuer;
            private Set<String> audiences;
            private java.net.URI jwksUri;
            private Set<String> algorithms = ASYMMETRIC_ALGORITHMS;
            private Duration clockSkew = DEFAULT_CLOCK_SKEW;
            private String idClaim = "sub";
            private String idPrefix = "";
            private String emailClaim = "email";
            private boolean requireVerifiedEmail = true;
            private String groupsClaim = "groups";
            private ClaimMatch agentClaim;
            private ClaimMatch humanClaim;
            private boolean clientCredentialsAgents = true;
            private String ownerClaim = "owner";
            private Map<String, String> linkClaims = Map.of();
            private boolean allowUnlinked = true;

            private Builder(String issuer, String audience) {
                this.issuer = issuer;
                this.audiences = Set.of(audience);
            }

            public Builder audiences(Set<String> v) {
                audiences = v;
                return this;
            }

            public Builder jwksUri(java.net.URI v) {
                jwksUri = v;
                return this;
            }

            public Builder algorithms(Set<String> v) {
                algorithms = v;
                return this;
            }

            public Builder clockSkew(Duration v) {
                clockSkew = v;
                return this;
            }

            public Builder idClaim(String v) {
                idClaim = v;
                return this;
            }

            public Builder idPrefix(String v) {
                idPrefix = v;
                return this;
            }

            public Builder emailClaim(String v) {
                emailClaim = v;
                return this;
            }

            public Builder requireVerifiedEmail(boolean v) {
                requireVerifiedEmail = v;
                return this;
            }

            public Builder groupsClaim(String v) {
                groupsClaim = v;
                return this;
            }

            public Builder agentClaim(ClaimMatch v) {
                agentClaim = v;
                return this;
            }

            public Builder humanClaim(ClaimMatch v) {
                humanClaim = v;
                return this;
            }

            public Builder clientCredentialsAgents(boolean v) {
                clientCredentialsAgents = v;
                return this;
            }

            public Builder ownerClaim(String v) {
                ownerClaim = v;
                return this;
            }

            public Builder linkClaims(Map<String, String> v) {
                linkClaims = v;
                return this;
            }

            public Builder allowUnlinked(boolean v) {
                allowUnlinked = v;
                return this;
            }

            public Issuer build() {
                return new Issuer(
                        issuer,
                        audiences,
                        jwksUri,
                        algorithms,
                        clockSkew,
                        idClaim,
                        idPrefix,
                        emailClaim,
                        requireVerifiedEmail,
                        groupsClaim,
                        agentClaim,
                        humanClaim,
                        clientCredentialsAgents,
                        ownerClaim,
                        linkClaims,
                        allowUnlinked);
            }
        }
    }

    /**
     * A claim whose value marks a kind of token ({@code agent_claim}, {@code human_claim}): a
     * string equal to {@code value}, or a list containing it.
     */
    public record ClaimMatch(String name, String value) {}

    /** The identities as principals by id. */
    public Map<String, Principal> principals() {
        return identities.stream()
                .collect(java.util.stream.Collectors.toUnmodifiableMap(
                        i -> i.principal().id(), Identity::principal));
    }
}
