package io.countersign.ledger;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.EdECPublicKey;
import java.security.spec.EdECPrivateKeySpec;
import java.security.spec.NamedParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * An Ed25519 note signer. Its text form is the one Go's {@code note} package uses, {@code
 * PRIVATE+KEY+name+hash+base64(0x01 || seed)}, so keys move between tools. {@link #toString()} never
 * shows the seed.
 */
public final class SigningKey {
    private static final String PREFIX = "PRIVATE+KEY+";

    private final byte[] seed;
    private final PrivateKey privateKey;
    private final VerifierKey verifierKey;

    private SigningKey(String name, byte[] seed) {
        checkName(name);
        if (seed.length != 32) throw new LedgerException("an Ed25519 seed has 32 bytes");
        this.seed = seed.clone();
        try {
            this.privateKey = KeyFactory.getInstance("Ed25519")
                    .generatePrivate(new EdECPrivateKeySpec(NamedParameterSpec.ED25519, seed));
            KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
            g.initialize(NamedParameterSpec.ED25519, new FixedSeed(seed));
            KeyPair pair = g.generateKeyPair();
            this.verifierKey = new VerifierKey(name, VerifierKey.encode(((EdECPublicKey) pair.getPublic()).getPoint()));
        } catch (GeneralSecurityException e) {
            throw new LedgerException("cannot make an Ed25519 key", e);
        }
    }

    /** A new key named {@code name} (the log's origin), from {@code random}. */
    public static SigningKey generate(String name, SecureRandom random) {
        byte[] seed = new byte[32];
        random.nextBytes(seed);
        return new SigningKey(name, seed);
    }

    /** Parses {@code PRIVATE+KEY+name+hash+base64}; refuses one whose hash does not match. */
    public static SigningKey parse(String text) {
        String t = text.strip();
        if (!t.startsWith(PREFIX)) throw new LedgerException("a signing key starts with " + PREFIX);
        String[] parts = t.substring(PREFIX.length()).split("\\+", 3);
        if (parts.length != 3) throw new LedgerException("a signing key is PRIVATE+KEY+name+hash+base64");
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(parts[2]);
        } catch (IllegalArgumentException e) {
            throw new LedgerException("the signing key's last part is not base64");
        }
        if (raw.length != 33 || raw[0] != VerifierKey.ED25519)
            throw new LedgerException("the signing key is not an Ed25519 key (type 0x01, 32 bytes)");
        SigningKey key = new SigningKey(parts[0], Arrays.copyOfRange(raw, 1, 33));
        if (!parts[1].equalsIgnoreCase(HexFormat.of().toHexDigits(key.verifierKey.keyId())))
            throw new LedgerException("the signing key's hash does not match its name and key");
        return key;
    }

    public String name() {
        return verifierKey.name();
    }

    public VerifierKey verifierKey() {
        return verifierKey;
    }

    /** The secret text form. Write it only to owner-only files. */
    public String encode() {
        byte[] raw = new byte[33];
        raw[0] = VerifierKey.ED25519;
        System.arraycopy(seed, 0, raw, 1, 32);
        return PREFIX + name() + "+" + HexFormat.of().toHexDigits(verifierKey.keyId()) + "+"
                + Base64.getEncoder().encodeToString(raw);
    }

    byte[] sign(byte[] message) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(privateKey);
            s.update(message);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new LedgerException("Ed25519 signing failed", e);
        }
    }

    @Override
    public String toString() {
        return "SigningKey[" + verifierKey + "]";
    }

    /** C2SP signed-note: a key name is non-empty UTF-8 with no spaces and no '+'. */
    static void checkName(String name) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("a key name or origin is not empty");
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '+' || c <= ' ' || Character.isWhitespace(c) || Character.isSpaceChar(c))
                throw new IllegalArgumentException(
                        "a key name or origin has no spaces and no '+': " + Hashes.abbreviate(name));
        }
    }

    /** Hands the JDK's Ed25519 generator a chosen seed, to derive the public key from it. */
    private static final class FixedSeed extends SecureRandom {
        private final byte[] seed;

        FixedSeed(byte[] seed) {
            this.seed = seed.clone();
        }

        @Override
        public void nextBytes(byte[] bytes) {
            System.arraycopy(seed, 0, bytes, 0, Math.min(seed.length, bytes.length));
        }
    }
}
