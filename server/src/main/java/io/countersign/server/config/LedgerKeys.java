package io.countersign.server.config;

import io.countersign.ledger.LedgerException;
import io.countersign.ledger.SigningKey;
import io.countersign.ledger.VerifierKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ledger's signing key: from {@code ledger.key_file}, or generated once into {@code
 * <data_dir>/ledger.key} (owner-only). Every verifier key the log has used is listed in {@code
 * <data_dir>/ledger-keys}, so that after a rotation the start-up check still trusts checkpoints the
 * former key signed, and the rotation itself can be recorded as an event.
 */
public final class LedgerKeys {
    private static final Logger LOG = LoggerFactory.getLogger(LedgerKeys.class);
    static final String KEY_FILE = "ledger.key";
    static final String KEY_LIST = "ledger-keys";

    /**
     * The keys at start.
     *
     * @param key the signing key now
     * @param former verifier keys this log used before
     * @param rotatedFrom the key used until now if this start rotates the key, else null
     */
    public record Loaded(SigningKey key, List<VerifierKey> former, VerifierKey rotatedFrom) {}

    private LedgerKeys() {}

    public static Loaded load(ServerConfig.Ledger config, Path dataDir, SecureRandom random) {
        try {
            SigningKey key = config.keyFile() != null
                    ? read(config.keyFile(), "ledger.key_file")
                    : readOrGenerate(dataDir.resolve(KEY_FILE), config.origin(), random);
            if (config.origin() != null && !config.origin().equals(key.name()))
                throw new ConfigException(
                        "ledger.origin: '" + config.origin() + "' is not the name of the signing key, '" + key.name()
                                + "'; a log's origin is fixed when its key is made");
            return remember(key, dataDir.resolve(KEY_LIST));
        } catch (IOException e) {
            throw new ConfigException("cannot read or write the ledger key in " + dataDir + ": " + e.getMessage(), e);
        }
    }

    private static SigningKey readOrGenerate(Path file, String origin, SecureRandom random) throws IOException {
        if (Files.exists(file)) return read(file, file.toString());
        String name =
                origin != null ? origin : "countersign.local/" + HexFormat.of().formatHex(randomId(random));
        SigningKey key = SigningKey.generate(name, random);
        writeSecret(file, key.encode() + "\n");
        LOG.info("generated the ledger signing key {} in {}", key.verifierKey(), file);
        return key;
    }

    /** Writes an owner-only file that did not exist (see {@link SecretFiles#write}). */
    public static void writeSecret(Path file, String content) throws IOException {
        SecretFiles.write(file, content);
    }

    private static SigningKey read(Path file, String what) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ))
            LOG.warn(
                    "{} can be read by others ({}): make it owner-only (chmod 600)",
                    file,
                    PosixFilePermissions.toString(perms));
        try {
            return SigningKey.parse(Files.readString(file));
        } catch (LedgerException e) {
            throw new ConfigException(what + ": not a signing key: " + e.getMessage());
        }
    }

    private static Loaded remember(SigningKey key, Path list) throws IOException {
        List<VerifierKey> known = new ArrayList<>();
        if (Files.exists(list)) {
            for (String line : Files.readAllLines(list)) {
                if (line.isBlank()) continue;
                try {
                    known.add(VerifierKey.parse(line));
                } catch (LedgerException e) {
                    throw new ConfigException(list + ": not a verifier key: " + line.strip());
                }
            }
        }
        VerifierKey now = key.verifierKey();
        List<VerifierKey> former = known.stream().filter(k -> !k.equals(now)).toList();
        VerifierKey rotatedFrom = null;
        if (!known.contains(now)) {
            rotatedFrom = known.isEmpty() ? null : known.getLast();
            Files.writeString(list, now + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            if (rotatedFrom != null) LOG.warn("the ledger key changes from {} to {}", rotatedFrom, now);
        }
        return new Loaded(key, former, rotatedFrom);
    }

    private static byte[] randomId(SecureRandom random) {
        byte[] b = new byte[6];
        random.nextBytes(b);
        return b;
    }
}
