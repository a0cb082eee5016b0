package io.countersign.server.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** Files that hold secrets (API keys, the ledger's signing key): owner-only from the moment they exist. */
public final class SecretFiles {
    private SecretFiles() {}

    /**
     * Writes {@code content} to {@code file}, which must not exist, creating it owner-only (0600) before
     * anything is written, and its directory owner-only (0700) if it has to be made.
     */
    public static void write(Path file, String content) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (!Files.exists(dir))
            Files.createDirectories(
                    dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, content);
    }
}
