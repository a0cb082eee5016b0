package io.countersign.ledger;

import java.nio.charset.StandardCharsets;

/**
 * A C2SP tlog-checkpoint body: the origin line, the tree size in decimal and the base64 root hash, each
 * ending in a newline. Signed as a {@link SignedNote}.
 *
 * @param origin the log's unique name, e.g. {@code countersign.example.com/ledger}
 * @param size the number of leaves
 * @param rootHash the RFC 9162 root of those leaves
 */
public record Checkpoint(String origin, long size, byte[] rootHash) {
    public Checkpoint {
        SigningKey.checkName(origin);
        if (size < 0) throw new IllegalArgumentException("a tree size is not negative: " + size);
        if (rootHash.length != Hashes.SIZE) throw new IllegalArgumentException("a root hash has 32 bytes");
        rootHash = rootHash.clone();
    }

    @Override
    public byte[] rootHash() {
        return rootHash.clone();
    }

    /** The note text that is signed. */
    public String body() {
        return origin + "\n" + size + "\n" + Hashes.base64(rootHash) + "\n";
    }

    /** Parses a checkpoint body; extension lines after the third are allowed and ignored. */
    public static Checkpoint parse(String body) {
        String[] lines = body.split("\n", -1);
        if (lines.length < 4 || !body.endsWith("\n"))
            throw new VerificationException("a checkpoint has an origin, a size and a root hash, each on its own line");
        if (!lines[1].matches("0|[1-9][0-9]{0,18}"))
            throw new VerificationException("checkpoint size is not a decimal number: " + Hashes.abbreviate(lines[1]));
        try {
            return new Checkpoint(lines[0], Long.parseLong(lines[1]), Hashes.fromBase64(lines[2]));
        } catch (NumberFormatException e) {
            throw new VerificationException("checkpoint size is too large: " + lines[1]);
        } catch (IllegalArgumentException e) {
            throw new VerificationException("bad checkpoint: " + e.getMessage());
        }
    }

    byte[] bodyBytes() {
        return body().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Checkpoint c
                && c.origin.equals(origin)
                && c.size == size
                && java.util.Arrays.equals(c.rootHash, rootHash);
    }

    @Override
    public int hashCode() {
        return origin.hashCode() * 31 + Long.hashCode(size);
    }

    @Override
    public String toString() {
        return "Checkpoint[" + origin + ", size " + size + ", root " + Hashes.base64(rootHash) + "]";
    }
}
