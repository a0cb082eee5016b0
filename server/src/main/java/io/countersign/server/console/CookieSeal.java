package io.countersign.server.console;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals what a cookie carries so that the browser holds it but can neither read nor change it:
 * AES-256-GCM under a key made at start (so a sealed value does not outlive a restart), a random
 * 96-bit IV per value, and a purpose bound in as associated data so a value sealed for one cookie
 * is not accepted as another. A sealed value is {@code base64url(iv || ciphertext || tag)}.
 */
final class CookieSeal {
    private static final int IV_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private final SecretKeySpec key;
    private final SecureRandom random;

    CookieSeal(SecureRandom random) {
        byte[] k = new byte[32];
        random.nextBytes(k);
        this.key = new SecretKeySpec(k, "AES");
        this.random = random;
    }

    String seal(String purpose, byte[] plain) {
        byte[] iv = new byte[IV_BYTES];
        random.nextBytes(iv);
        byte[] sealed = run(Cipher.ENCRYPT_MODE, iv, purpose, plain);
        byte[] out = new byte[IV_BYTES + sealed.length];
        System.arraycopy(iv, 0, out, 0, IV_BYTES);
        System.arraycopy(sealed, 0, out, IV_BYTES, sealed.length);
        return B64.encodeToString(out);
    }

    /** What {@code value} carries, if this server sealed it for {@code purpose}; empty for anything else. */
    Optional<byte[]> open(String purpose, String value) {
        if (value == null || value.isEmpty() || value.length() > 8_192) return Optional.empty();
        byte[] in;
        try {
            in = Base64.getUrlDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        if (in.length < IV_BYTES + TAG_BITS / 8) return Optional.empty();
        byte[] iv = java.util.Arrays.copyOf(in, IV_BYTES);
        byte[] body = java.util.Arrays.copyOfRange(in, IV_BYTES, in.length);
        try {
            return Optional.of(cipher(Cipher.DECRYPT_MODE, iv, purpose).doFinal(body));
        } catch (GeneralSecurityException e) {
            return Optional.empty(); // altered, forged, or sealed before a restart
        }
    }

    private byte[] run(int mode, byte[] iv, String purpose, byte[] input) {
        try {
            return cipher(mode, iv, purpose).doFinal(input);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM failed", e);
        }
    }

    private Cipher cipher(int mode, byte[] iv, String purpose) throws GeneralSecurityException {
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(mode, key, new GCMParameterSpec(TAG_BITS, iv));
        c.updateAAD(purpose.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return c;
    }
}
