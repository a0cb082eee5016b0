package io.countersign.ledger;

import java.util.List;

/**
 * Verifies RFC 9162 proofs exactly as §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) describe. Each
 * method returns normally when the proof holds and throws {@link VerificationException} saying why
 * when it does not.
 */
public final class ProofVerifier {
    private ProofVerifier() {}

    public static void verifyInclusion(long index, long size, byte[] leafHash, List<byte[]> proof, byte[] root) {
        if (index < 0 || index >= size)
            throw new VerificationException("leaf index " + index + " is not in a tree of size " + size);
        if (leafHash.length != Hashes.SIZE || root.length != Hashes.SIZE)
            throw new VerificationException("a leaf hash and a root hash have 32 bytes");
        byte[] computed = rootFromInclusion(index, size, leafHash, proof);
        if (!Hashes.same(computed, root))
            throw new VerificationException(
                    "the inclusion proof of leaf " + index + " does not lead to the root of tree size " + size);
    }

    /** The root that {@code proof} implies for the leaf, per RFC 9162 §2.1.3.2 steps 1-5. */
    static byte[] rootFromInclusion(long index, long size, byte[] leafHash, List<byte[]> proof) {
        Hashes h = new Hashes();
        long fn = index;
        long sn = size - 1;
        byte[] r = leafHash;
        for (byte[] p : proof) {
            if (sn == 0) throw new VerificationException("the inclusion proof is longer than the tree is deep");
            if ((fn & 1) == 1 || fn == sn) {
                r = h.nodeHash(p, r);
                while ((fn & 1) == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                r = h.nodeHash(r, p);
            }
            fn >>= 1;
            sn >>= 1;
        }
        if (sn != 0) throw new VerificationException("the inclusion proof is shorter than the tree is deep");
        return r;
    }

    public static void verifyConsistency(
            long oldSize, long newSize, byte[] oldRoot, byte[] newRoot, List<byte[]> proof) {
        if (newSize < oldSize)
            throw new VerificationException("the new tree (" + newSize + ") is smaller than the old (" + oldSize + ")");
        if (oldSize == 0)
            throw new VerificationException("every tree is consistent with the empty tree; nothing to prove");
        if (oldSize == newSize) {
            if (!proof.isEmpty()) throw new VerificationException("equal sizes need an empty consistency proof");
            if (!Hashes.same(oldRoot, newRoot))
                throw new VerificationException("two trees of size " + oldSize + " have different roots");
            return;
        }
        if (proof.isEmpty()) throw new VerificationException("the consistency proof is empty");
        byte[][] roots = rootsFromConsistency(oldSize, newSize, oldRoot, proof);
        if (!Hashes.same(roots[0], oldRoot))
            throw new VerificationException(
                    "the consistency proof does not lead to the old root (size " + oldSize + ")");
        if (!Hashes.same(roots[1], newRoot))
            throw new VerificationException(
                    "the consistency proof does not lead to the new root (size " + newSize + ")");
    }

    // RFC 9162 §2.1.4.2 steps 1-7; returns {first root, second root} as the proof implies them.
    private static byte[][] rootsFromConsistency(long first, long second, byte[] firstHash, List<byte[]> proof) {
        Hashes h = new Hashes();
        List<byte[]> path = proof;
        if (Long.bitCount(first) == 1) {
            path = new java.util.ArrayList<>(proof.size() + 1);
            path.add(firstHash);
            path.addAll(proof);
        }
        long fn = first - 1;
        long sn = second - 1;
        while ((fn & 1) == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        byte[] fr = path.getFirst();
        byte[] sr = path.getFirst();
        for (byte[] c : path.subList(1, path.size())) {
            if (sn == 0) throw new VerificationException("the consistency proof is too long");
            if ((fn & 1) == 1 || fn == sn) {
                fr = h.nodeHash(c, fr);
                sr = h.nodeHash(c, sr);
                while ((fn & 1) == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                sr = h.nodeHash(sr, c);
            }
            fn >>= 1;
            sn >>= 1;
        }
        if (sn != 0) throw new VerificationException("the consistency proof is too short");
        return new byte[][] {fr, sr};
    }
}
