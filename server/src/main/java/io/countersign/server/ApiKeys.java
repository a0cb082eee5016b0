package io.countersign.server;

import io.countersign.core.Principal;
import io.countersign.core.json.CanonicalJson;
import io.countersign.server.config.ServerConfig;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * API keys: {@code cs_} and 32 random bytes (base64url). The server holds only their SHA-256;
 * a presented key is hashed and the hash looked up, so the comparison never touches the secret
 * and its time does not depend on how much of a key was right.
 */
public final class ApiKeys {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final Map<String, Principal> byHash;

    public ApiKeys(List<ServerConfig.Identity> identities) {
        Map<String, Principal> m = new HashMap<>();
        for (ServerConfig.Identity i : identities) {
            if (i.apiKeySha256() != null) m.put(i.apiKeySha256(), i.principal());
        }
        this.byHash = Map.copyOf(m);
    }

    /** The principal whose key this is, if any. */
    public Optional<Principal> authenticate(String presentedKey) {
        if (presentedKey == null || presentedKey.length() > 200) return Optional.empty();
        return Optional.ofNullable(byHash.get(sha256Hex(presentedKey)));
    }

    /** A new random API key. */
    public static String generate() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return "cs_" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** The hex SHA-256 of a key, as the config stores it. */
    public static String sha256Hex(String key) {
        return HexFormat.of().formatHex(CanonicalJson.sha256(key.getBytes(StandardCharsets.UTF_8)));
    }
}
