package io.countersign.ledger;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.EdECPoint;
import java.security.spec.EdECPublicKeySpec;
import java.security.spec.NamedParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * A C2SP signed-note verifier key for Ed25519: {@code name+hash+base64(0x01 || public key)}, where
 * {@code hash} is the key id in 8 hex digits: the first four bytes of {@code SHA-256(name || 0x0A ||
 * 0x01 || public key)}.
 */
public final class VerifierKey {
    static final byte ED25519 = 0x01;

    private final String name;
    private final int keyId;
    private final byte[] publicKey;
    private final PublicKey jcaKey;

    VerifierKey(String name, byte[] publicKey) {
        SigningKey.checkName(name);
        if (publicKey.length != 32) throw new LedgerException("an Ed25519 public key has 32 bytes");
        this.name = name;
        this.publicKey = publicKey.clone();
        this.keyId = keyId(name, publicKey);
        this.jcaKey = decode(publicKey);
    }

    /** Parses {@code name+hash+base64}; refuses a key whose hash does not match its name and key. */
    public static VerifierKey parse(String text) {
        String t = text.strip();
        String[] parts = t.split("\\+", 3);
        if (parts.length != 3)
            throw new VerificationException("a verifier key is name+hash+base64, got: " + Hashes.abbreviate(t));
        byte[] raw;
        int id;
        try {
            raw = Base64.getDecoder().decode(parts[2]);
            if (parts[1].length() != 8) throw new IllegalArgumentException("hash");
            id = HexFormat.fromHexDigits(parts[1]);
        } catch (IllegalArgumentException e) {
            throw new VerificationException("a verifier key is name+hash+base64, got: " + Hashes.abbreviate(t));
        }
        if (raw.length != 33 || raw[0] != ED25519)
            throw new VerificationException("the verifier key is not an Ed25519 key (type 0x01, 32 bytes)");
        VerifierKey key;
        try {
            key = new VerifierKey(parts[0], Arrays.copyOfRange(raw, 1, 33));
        } catch (LedgerException | IllegalArgumentException e) {
            throw new VerificationException("bad verifier key: " + e.getMessage());
        }
        if (key.keyId != id) throw new VerificationException("the verifier key's hash does not match its name and key");
        return key;
    }

    public String name() {
        return name;
    }

    public int keyId() {
        return keyId;
    }

    /** The key in its text form, {@code name+hash+base64}. */
    @Override
    public String toString() {
        byte[] raw = new byte[33];
        raw[0] = ED25519;
        System.arraycopy(publicKey, 0, raw, 1, 32);
        return name + "+" + HexFormat.of().toHexDigits(keyId) + "+"
                + Base64.getEncoder().encodeToString(raw);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VerifierKey k && k.name.equals(name) && Arrays.equals(k.publicKey, publicKey);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + keyId;
    }

    boolean verify(byte[] message, byte[] signature) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(jcaKey);
            s.update(message);
            return s.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    static int keyId(String name, byte[] publicKey) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(name.getBytes(StandardCharsets.UTF_8));
            d.update((byte) '\n');
            d.update(ED25519);
            d.update(publicKey);
            byte[] h = d.digest();
            return ((h[0] & 0xff) << 24) | ((h[1] & 0xff) << 16) | ((h[2] & 0xff) << 8) | (h[3] & 0xff);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** RFC 8032 §5.1.3: little-endian y, with the top bit of the last byte holding x's parity. */
    private static PublicKey decode(byte[] encoded) {
        byte[] le = encoded.clone();
        boolean xOdd = (le[31] & 0x80) != 0;
        le[31] &= 0x7f;
        byte[] be = new byte[32];
        for (int i = 0; i < 32; i++) be[i] = le[31 - i];
        try {
            EdECPublicKeySpec spec =
                    new EdECPublicKeySpec(NamedParameterSpec.ED25519, new EdECPoint(xOdd, new BigInteger(1, be)));
            return KeyFactory.getInstance("Ed25519").generatePublic(spec);
        } catch (GeneralSecurityException e) {
            throw new LedgerException("not an Ed25519 public key", e);
        }
    }

    static byte[] encode(EdECPoint point) {
        byte[] be = point.getY().toByteArray();
        byte[] le = new byte[32];
        for (int i = 0; i < be.length && i < 32; i++) le[i] = be[be.length - 1 - i];
        if (point.isXOdd()) le[31] |= (byte) 0x80;
        return le;
    }
}
