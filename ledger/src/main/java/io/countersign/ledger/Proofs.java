package io.countersign.ledger;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds RFC 9162 proofs and roots from stored perfect subtrees.
 *
 * <p>Design notes. RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1 (SUBPROOF) define a proof as a list of
 * subtree hashes MTH(D[a:b]). Every such range is either a perfect, aligned subtree (one stored node)
 * or the right edge {@code [a, n)} of the tree, which {@link Subtree#cover} splits into at most
 * log2(n) stored nodes of falling size. So a proof costs O(log n) node reads, done in one {@link
 * NodeReader#read} call, and no rebuild, whatever the size of the log.
 */
public final class Proofs {
    private Proofs() {}

    /** The root hash of the first {@code size} leaves. */
    public static byte[] root(long size, NodeReader nodes) {
        if (size == 0) return Hashes.emptyRoot();
        return resolve(List.of(Subtree.cover(0, size)), nodes).getFirst();
    }

    /** The inclusion proof of leaf {@code index} in the tree of {@code size} leaves, leaf to root. */
    public static List<byte[]> inclusion(long index, long size, NodeReader nodes) {
        if (index < 0 || index >= size)
            throw new IllegalArgumentException("index " + index + " is outside a tree of size " + size);
        List<List<Subtree>> ranges = new ArrayList<>();
        path(index, 0, size, ranges);
        return resolve(ranges, nodes);
    }

    /** The consistency proof between the trees of {@code oldSize} and {@code newSize} leaves. */
    public static List<byte[]> consistency(long oldSize, long newSize, NodeReader nodes) {
        if (oldSize < 0 || oldSize > newSize)
            throw new IllegalArgumentException("sizes " + oldSize + " and " + newSize + " are not in order");
        if (oldSize == 0 || oldSize == newSize) return List.of();
        List<List<Subtree>> ranges = new ArrayList<>();
        subproof(oldSize, 0, newSize, true, ranges);
        return resolve(ranges, nodes);
    }

    // PATH(m, D[lo:hi]) of RFC 9162 §2.1.3.1, collecting the ranges deepest first.
    private static void path(long m, long lo, long hi, List<List<Subtree>> out) {
        if (hi - lo == 1) return;
        long k = largestPowerOfTwoBelow(hi - lo);
        if (m < lo + k) {
            path(m, lo, lo + k, out);
            out.add(Subtree.cover(lo + k, hi));
        } else {
            path(m, lo + k, hi, out);
            out.add(Subtree.cover(lo, lo + k));
        }
    }

    // SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1, with m counted from lo.
    private static void subproof(long m, long lo, long hi, boolean whole, List<List<Subtree>> out) {
        long n = hi - lo;
        if (m == n) {
            if (!whole) out.add(Subtree.cover(lo, hi));
            return;
        }
        long k = largestPowerOfTwoBelow(n);
        if (m <= k) {
            subproof(m, lo, lo + k, whole, out);
            out.add(Subtree.cover(lo + k, hi));
        } else {
            subproof(m - k, lo + k, hi, false, out);
            out.add(Subtree.cover(lo, lo + k));
        }
    }

    /** The largest power of two strictly less than {@code n}, for {@code n > 1}. */
    static long largestPowerOfTwoBelow(long n) {
        return Long.highestOneBit(n - 1);
    }

    private static List<byte[]> resolve(List<List<Subtree>> ranges, NodeReader nodes) {
        int count = ranges.stream().mapToInt(List::size).sum();
        long[] ids = new long[count];
        int i = 0;
        for (List<Subtree> r : ranges) for (Subtree s : r) ids[i++] = s.id();
        byte[][] hashes = nodes.read(ids);
        if (hashes.length != count) throw new LedgerException("asked for " + count + " nodes, got " + hashes.length);
        Hashes h = new Hashes();
        List<byte[]> out = new ArrayList<>(ranges.size());
        int at = 0;
        for (List<Subtree> r : ranges) {
            out.add(fold(hashes, at, r.size(), h));
            at += r.size();
        }
        return out;
    }

    private static byte[] fold(byte[][] hashes, int from, int count, Hashes h) {
        byte[] acc = hashes[from + count - 1];
        for (int j = from + count - 2; j >= from; j--) acc = h.nodeHash(hashes[j], acc);
        return acc;
    }
}
