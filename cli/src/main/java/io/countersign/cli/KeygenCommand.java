package io.countersign.cli;

import io.countersign.server.ApiKeys;
import picocli.CommandLine.Command;

@Command(
        name = "keygen",
        mixinStandardHelpOptions = true,
        description = "Generate an API key and print it with the SHA-256 that goes in the config (api_key_sha256).")
final class KeygenCommand implements Runnable {
    @Override
    public void run() {
        String key = ApiKeys.generate();
        System.out.println("api key (give to the principal; shown once): " + key);
        System.out.println("api_key_sha256 (put in the config):          " + ApiKeys.sha256Hex(key));
    }
}
