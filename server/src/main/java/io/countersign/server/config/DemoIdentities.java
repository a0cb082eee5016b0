package io.countersign.server.config;

import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.server.ApiKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The demo cast used when no config file declares identities: one agent, one service and five
 * humans. Their API keys are generated once per data directory and written, owner-readable only,
 * to {@code demo.env} there, so a restart keeps them; only their hashes are held in memory.
 */
public final class DemoIdentities {
    public static final String FILE = "demo.env";

    private DemoIdentities() {}

    /** The demo principals. */
    public static List<Principal> principals() {
        return List.of(
                new Principal(
                        "deploy-bot", PrincipalKind.AGENT, Set.of(), "alice", "claude-sonnet-4-5", "high", Map.of()),
                new Principal("etl-pipeline", PrincipalKind.SERVICE, Set.of(), null, null, null, Map.of()),
                Principal.human("alice", Set.of("engineering", "data-owners")),
                Principal.human("bob", Set.of("data-owners")),
                Principal.human("carol", Set.of("data-owners", "security")),
                Principal.human("dave", Set.of("security")),
                Principal.human("erin", Set.of("sales")));
    }

    static List<ServerConfig.Identity> prepare(Path dataDir) {
        Map<String, String> keys = loadOrCreate(dataDir.resolve(FILE));
        List<ServerConfig.Identity> out = new ArrayList<>();
        for (Principal p : principals())
            out.add(new ServerConfig.Identity(p, ApiKeys.sha256Hex(keys.get(p.id())), links(p)));
        return out;
    }

    /**
     * The demo cast with keys made afresh, for servers in tests and benchmarks: each key goes into
     * {@code keys} under its principal's id and only its hash into the identity, with the outside
     * identities {@code links} gives it.
     */
    public static List<ServerConfig.Identity> withNewKeys(
            Map<String, String> keys, Function<Principal, ServerConfig.Links> links) {
        List<ServerConfig.Identity> out = new ArrayList<>();
        for (Principal p : principals()) {
            String key = ApiKeys.generate();
            keys.put(p.id(), key);
            out.add(new ServerConfig.Identity(p, ApiKeys.sha256Hex(key), links.apply(p)));
        }
        return out;
    }

    /**
     * The demo humans' made-up outside identities, so that channels can be tried on the demo cast:
     * {@code bob@example.com} by email, {@code U0BOB} on Slack.
     */
    public static ServerConfig.Links links(Principal p) {
        if (p.kind() != PrincipalKind.HUMAN) return ServerConfig.Links.NONE;
        String upper = p.id().toUpperCase(java.util.Locale.ROOT).replace("-", "");
        return new ServerConfig.Links(null, p.id() + "@example.com", "U0" + upper, null);
    }

    /** The demo keys by principal id, as written in {@code demo.env}. */
    public static Map<String, String> keys(Path dataDir) {
        return loadOrCreate(dataDir.resolve(FILE));
    }

    /** The environment variable holding a demo principal's key, e.g. {@code CS_KEY_DEPLOY_BOT}. */
    public static String variable(String id) {
        return "CS_KEY_" + id.toUpperCase(java.util.Locale.ROOT).replace('-', '_');
    }

    private static Map<String, String> loadOrCreate(Path file) {
        try {
            Map<String, String> keys = Files.exists(file) ? read(file) : new LinkedHashMap<>();
            boolean changed = false;
            for (Principal p : principals()) {
                if (!keys.containsKey(p.id())) {
                    keys.put(p.id(), ApiKeys.generate());
                    changed = true;
                }
            }
            if (changed) write(file, keys);
            return keys;
        } catch (IOException e) {
            throw new ConfigException("cannot prepare demo keys in " + file + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, String> read(Path file) throws IOException {
        Map<String, String> keys = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            for (Principal p : principals()) {
                String prefix = "export " + variable(p.id()) + "=";
                if (line.startsWith(prefix))
                    keys.put(p.id(), line.substring(prefix.length()).strip());
            }
        }
        return keys;
    }

    private static void write(Path file, Map<String, String> keys) throws IOException {
        StringBuilder out = new StringBuilder("# Countersign DEMO API keys. For trying Countersign locally only.\n");
        keys.forEach((id, key) -> out.append("export ")
                .append(variable(id))
                .append('=')
                .append(key)
                .append('\n'));
        Files.deleteIfExists(file);
        SecretFiles.write(file, out.toString());
    }
}
