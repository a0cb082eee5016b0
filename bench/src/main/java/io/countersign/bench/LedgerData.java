package io.countersign.bench;

import io.countersign.ledger.SigningKey;
import io.countersign.store.LedgerSettings;
import io.countersign.store.SqliteStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Where the ledger benchmarks keep their data: fresh temporary directories, and data sets built
 * once and kept under {@code bench/target/ledger-data} (a {@code mvn clean} removes them). A data set
 * is built in {@code NAME.partial} and renamed to {@code NAME} when complete, so an interrupted
 * build is never mistaken for a finished one.
 */
final class LedgerData {
    static final String ORIGIN = "bench.countersign.example/ledger";
    static final String DATABASE = "countersign.db";
    private static final String SIGNING_KEY = "signing-key";

    private LedgerData() {}

    /** {@code bench/target/ledger-data}, found from where this class was loaded (the jar or the classes dir). */
    static Path defaultCache() {
        try {
            Path loadedFrom = Path.of(LedgerData.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
            return loadedFrom.toAbsolutePath().getParent().resolve("ledger-data");
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot tell where the bench classes are", e);
        }
    }

    static Path tempDir(Path under, String prefix) {
        try {
            Files.createDirectories(under);
            return Files.createTempDirectory(under, prefix);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a directory under " + under, e);
        }
    }

    /** Opens the store in {@code dir} with the signing key kept beside it, made on first use. */
    static SqliteStore openStore(Path dir) {
        return SqliteStore.open(dir.resolve(DATABASE), LedgerSettings.of(signingKey(dir)));
    }

    static SigningKey signingKey(Path dir) {
        Path file = dir.resolve(SIGNING_KEY);
        try {
            if (Files.exists(file)) return SigningKey.parse(Files.readString(file));
            Files.createDirectories(dir);
            SigningKey key = SigningKey.generate(ORIGIN, new SecureRandom());
            Files.writeString(file, key.encode() + "\n");
            return key;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the signing key in " + file, e);
        }
    }

    /** Marks {@code partial} complete by renaming it to {@code done}. */
    static void complete(Path partial, Path done) {
        try {
            Files.move(partial, done, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rename " + partial + " to " + done, e);
        }
    }

    /** Bytes of the regular files under {@code dir}. */
    static long bytesUnder(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile)
                    .mapToLong(LedgerData::size)
                    .sum();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    static long size(Path file) {
        try {
            return Files.exists(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the size of " + file, e);
        }
    }

    static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("could not delete " + dir + ": " + e.getMessage());
        }
    }
}
