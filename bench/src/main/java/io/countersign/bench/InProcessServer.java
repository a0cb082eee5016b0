package io.countersign.bench;

import io.countersign.core.Principal;
import io.countersign.server.CountersignServer;
import io.countersign.server.config.DemoIdentities;
import io.countersign.server.config.ServerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A real Countersign server in this JVM: loopback, port 0, a fresh temporary data directory
 * (SQLite with its defaults: WAL, synchronous=FULL), the demo cast with freshly generated keys,
 * and the example policy (or another). Closing it stops the server and deletes the directory.
 */
final class InProcessServer implements AutoCloseable {
    private final Path dataDir;
    private final Map<String, String> keys = new LinkedHashMap<>();
    private final Map<String, Principal> principals = new LinkedHashMap<>();
    private final CountersignServer server;

    private InProcessServer(Path dataDir, Path policy, Duration maxWait) {
        this.dataDir = dataDir;
        DemoIdentities.principals().forEach(p -> principals.put(p.id(), p));
        List<ServerConfig.Identity> identities = DemoIdentities.withNewKeys(keys, p -> ServerConfig.Links.NONE);
        ServerConfig config = ServerConfig.local(dataDir, policy, identities).withMaxWait(maxWait);
        this.server = CountersignServer.start(config);
    }

    /** Starts a server on {@code policy}, or on the example policy when empty. */
    static InProcessServer start(Optional<Path> policy, Duration maxWait) {
        return start(policy, maxWait, Optional.empty());
    }

    /** As {@link #start(Optional, Duration)}, with the temporary directory made under {@code under}. */
    static InProcessServer start(Optional<Path> policy, Duration maxWait, Optional<Path> under) {
        try {
            Path dir = under.isPresent()
                    ? Files.createTempDirectory(under.get(), "countersign-bench-")
                    : Files.createTempDirectory("countersign-bench-");
            Path file = policy.isPresent() ? policy.get() : examplePolicy(dir);
            return new InProcessServer(dir.resolve("data"), file, maxWait);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare a data directory", e);
        }
    }

    private static Path examplePolicy(Path dir) throws IOException {
        try (InputStream in = InProcessServer.class.getResourceAsStream("policy.yaml")) {
            if (in == null) throw new IllegalStateException("examples/policy.yaml is missing from the bench jar");
            Path file = dir.resolve("policy.yaml");
            Files.copy(in, file);
            return file;
        }
    }

    CountersignServer server() {
        return server;
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + server.port());
    }

    String key(String id) {
        return keys.get(id);
    }

    Principal principal(String id) {
        return principals.get(id);
    }

    Path database() {
        return dataDir.resolve("countersign.db");
    }

    @Override
    public void close() {
        server.close();
        try (Stream<Path> files = Files.walk(dataDir.getParent())) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("could not delete " + dataDir.getParent() + ": " + e.getMessage());
        }
    }
}
