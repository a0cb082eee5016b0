package io.countersign.ledger;

import java.util.ArrayList;
import java.util.List;

/**
 * A perfect subtree: {@code 2^level} leaves starting at {@code index · 2^level}. Its id packs the
 * index of its last leaf and its level into one long ({@code last << 6 | level}), which orders nodes
 * as a growing tree completes them: by the leaf whose append completes them, then upwards. Storage
 * keyed by it therefore appends all of a batch's new nodes side by side at its end, rather than at
 * the end of each level's own range of keys (one more page to rewrite per level per commit).
 *
 * @param level height above the leaves (0 = a leaf)
 * @param index position among the subtrees of that level
 */
public record Subtree(int level, long index) {
    static final int INDEX_BITS = 48;
    static final long MAX_INDEX = (1L << INDEX_BITS) - 1;
    private static final int LEVEL_BITS = 6;

    /** A subtree within the first {@code 2^48} leaves. */
    public Subtree {
        if (level < 0 || level > INDEX_BITS) throw new IllegalArgumentException("level " + level);
        if (index < 0 || index > (MAX_INDEX >>> level)) throw new IllegalArgumentException("index " + index);
    }

    public long id() {
        return id(level, index);
    }

    public static long id(int level, long index) {
        return ((((index + 1) << level) - 1) << LEVEL_BITS) | level;
    }

    public static Subtree of(long id) {
        int level = (int) (id & ((1 << LEVEL_BITS) - 1));
        return new Subtree(level, (((id >>> LEVEL_BITS) + 1) >>> level) - 1);
    }

    /** The index of the last leaf under the node {@code id}: the leaf whose append completed it. */
    public static long lastLeaf(long id) {
        return id >>> LEVEL_BITS;
    }

    long start() {
        return index << level;
    }

    long size() {
        return 1L << level;
    }

    /**
     * The perfect subtrees that exactly cover leaves {@code [start, end)}, left to right, each as
     * large as its alignment allows. For the ranges RFC 9162 proofs use ({@code [lo, lo + 2^k)} and a
     * tree's right edge {@code [lo, n)}) the sizes never grow left to right, so folding them from the
     * right gives the range's hash.
     */
    static List<Subtree> cover(long start, long end) {
        List<Subtree> out = new ArrayList<>();
        long at = start;
        while (at < end) {
            int level = at == 0 ? 63 : Long.numberOfTrailingZeros(at);
            while (level > 0 && (level >= 63 || at + (1L << level) > end)) level--;
            out.add(new Subtree(level, at >>> level));
            at += 1L << level;
        }
        return out;
    }
}
