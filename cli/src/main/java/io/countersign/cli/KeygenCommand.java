package io.countersign.cli;

import io.countersign.server.ApiKeys;
import java.security.SecureRandom;
import java.util.Base64;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "keygen",
        mixinStandardHelpOptions = true,
        description = {
            "Generate an API key and print it with the SHA-256 that goes in the config (api_key_sha256).",
            "With --webhook, generate a Standard Webhooks signing secret (whsec_...) instead."
        })
final class KeygenCommand implements Runnable {
    @Option(
            names = "--webhook",
            description = "Print a webhook signing secret for channels.webhooks[].secret and the receiver")
    boolean webhook;

    @Override
    public void run() {
        if (webhook) {
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            System.out.println("whsec_" + Base64.getEncoder().encodeToString(secret));
            return;
        }
        String key = ApiKeys.generate();
        System.out.println("api key (give to the principal; shown once): " + key);
        System.out.println("api_key_sha256 (put in the config):          " + ApiKeys.sha256Hex(key));
    }
}
