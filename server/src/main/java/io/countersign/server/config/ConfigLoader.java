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
            LedgerSection ledger) {}

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
            String apiKeySha256) {}

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
        File f = o.config() == null ? new File(null, null, null, null, null, null, null) : read(o.config());
        ServerSection server = f.server() == null ? new ServerSection(null, null) : f.server();
        String host = first(o.host(), server.host(), ServerConfig.DEFAULT_HOST);
        int port = first(o.port(), server.port(), ServerConfig.DEFAULT_PORT);
        if (port < 0 || port > 65535) throw new ConfigException("server.port: must be 0-65535; got " + port);
        Path base =
                o.config() == null ? Path.of("") : o.config().toAbsolutePath().getParent();
        Path dataDir = first(
                o.dataDir(), f.dataDir() == null ? null : base.resolve(f.dataDir()), ServerConfig.DEFAULT_DATA_DIR);
        Path policy =
                first(o.policy(), f.policy() == null ? null : base.resolve(f.policy()), ServerConfig.DEFAULT_POLICY);
        if (!Files.isRegularFile(policy)) throw new ConfigException("policy: no such file: " + policy);
        boolean demo = f.identities() == null;
        List<ServerConfig.Identity> identities = demo ? DemoIdentities.prepare(dataDir) : identities(f.identities());
        return new ServerConfig(
                host,
                port,
                dataDir,
                policy,
                identities,
                duration("sweep_interval", f.sweepInterval(), ServerConfig.DEFAULT_SWEEP),
                duration("max_wait", f.maxWait(), ServerConfig.DEFAULT_MAX_WAIT),
                demo,
                ledger(f.ledger(), base));
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
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ConfigException(path + ": " + e.getOriginalMessage() + " at line "
                    + e.getLocation().getLineNr());
        } catch (IOException e) {
            throw new ConfigException("cannot read config " + path + ": " + e.getMessage(), e);
        }
    }

    static List<ServerConfig.Identity> identities(List<IdentitySection> sections) {
        List<ServerConfig.Identity> out = new ArrayList<>();
        Set<String> hashes = new HashSet<>();
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
            out.add(new ServerConfig.Identity(p, s.apiKeySha256()));
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
}
