package io.countersign.ledger;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * RFC 9162 §2.1.1 hashing: {@code leaf = SHA-256(0x00 || entry)}, {@code node = SHA-256(0x01 ||
 * left || right)}, and the empty tree's root {@code SHA-256("")}. An instance holds one digest and is
 * for one thread; the static methods make their own.
 */
public final class Hashes {
    public static final int SIZE = 32;
    private static final byte[] EMPTY_ROOT = new Hashes().digest.digest();

    private final MessageDigest digest;

    public Hashes() {
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** The leaf hash of {@code entry}. */
    public byte[] leafHash(byte[] entry) {
        return leafHash(entry, 0, entry.length);
    }

    /** The leaf hash of {@code entry[offset, offset + length)}. */
    public byte[] leafHash(byte[] entry, int offset, int length) {
        digest.update((byte) 0);
        digest.update(entry, offset, length);
        return digest.digest();
    }

    /** The interior node over {@code left} and {@code right}. */
    public byte[] nodeHash(byte[] left, byte[] right) {
        digest.update((byte) 1);
        digest.update(left);
        digest.update(right);
        return digest.digest();
    }

    public static byte[] leaf(byte[] entry) {
        return new Hashes().leafHash(entry);
    }

    public static byte[] node(byte[] left, byte[] right) {
        return new Hashes().nodeHash(left, right);
    }

    /** The root of the tree with no leaves. */
    public static byte[] emptyRoot() {
        return EMPTY_ROOT.clone();
    }

    /** Constant-time equality, for hashes an attacker may have chosen. */
    public static boolean same(byte[] a, byte[] b) {
        return MessageDigest.isEqual(a, b);
    }

    public static String base64(byte[] hash) {
        return Base64.getEncoder().encodeToString(hash);
    }

    /** Decodes a standard base64 hash of exactly 32 bytes. */
    public static byte[] fromBase64(String text) {
        byte[] h;
        try {
            h = Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new VerificationException("not base64: " + abbreviate(text));
        }
        if (h.length != SIZE) throw new VerificationException("a hash has 32 bytes, got " + h.length);
        return h;
    }

    static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
