package io.countersign.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** The npm packages of an interop directory that tests run (real MCP servers, a webhook receiver). */
public final class NpmPackages {
    private NpmPackages() {}

    /** Runs {@code npm ci} in {@code dir} unless every one of {@code modules} is already installed there. */
    public static synchronized void install(Path dir, String... modules) {
        boolean present = true;
        for (String m : modules)
            present &= Files.isDirectory(dir.resolve("node_modules").resolve(m));
        if (present) return;
        try {
            Process p = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund")
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0)
                throw new AssertionError("'npm ci' in " + dir + " failed; run it by hand to see why");
        } catch (IOException e) {
            throw new AssertionError("this test needs Node.js and npm (Debian: apt-get install nodejs npm), then"
                    + " 'npm ci' in " + dir + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
