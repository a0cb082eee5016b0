package io.countersign.server.config;

import io.countersign.core.Principal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

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
        Ledger ledger) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8080;
    public static final Path DEFAULT_DATA_DIR = Path.of("data");
    public static final Path DEFAULT_POLICY = Path.of("examples", "policy.yaml");
    public static final Duration DEFAULT_SWEEP = Duration.ofSeconds(1);
    public static final Duration DEFAULT_MAX_WAIT = Duration.ofMinutes(5);

    public ServerConfig {
        identities = List.copyOf(identities);
        ledger = ledger == null ? Ledger.defaults() : ledger;
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, dataDir, policyFile, identities, sweepInterval, maxWait, demo, ledger);
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
     * A principal and the hex SHA-256 of its API key (the key itself is never stored).
     *
     * @param principal who it is
     * @param apiKeySha256 lower-case hex SHA-256 of its API key, or null for no key
     */
    public record Identity(Principal principal, String apiKeySha256) {}

    /** The identities as principals by id. */
    public Map<String, Principal> principals() {
        return identities.stream()
                .collect(java.util.stream.Collectors.toUnmodifiableMap(
                        i -> i.principal().id(), Identity::principal));
    }
}
