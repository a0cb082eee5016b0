package io.countersign.ledger;

import java.util.ArrayList;
import java.util.List;

/**
 * A perfect subtree: {@code 2^level} leaves starting at {@code index · 2^level}. Its id packs level
 * and index into one long ({@code level << 48 | index}), which orders a level's nodes by index, so
 * storage appends at the end of each level.
 *
 * @param level height above the leaves (0 = a leaf)
 * @param index position among the subtrees of that level
 */
public record Subtree(int level, long index) {
    static final int INDEX_BITS = 48;
    static final long MAX_INDEX = (1L << INDEX_BITS) - 1;

    public Subtree {
        if (level < 0 || level > 48) throw new IllegalArgumentException("level " + level);
        if (index < 0 || index > MAX_INDEX) throw new IllegalArgumentException("index " + index);
    }

    public long id() {
        return id(level, index);
    }

    public static long id(int level, long index) {
        return ((long) level << INDEX_BITS) | index;
    }

    public static Subtree of(long id) {
        return new Subtree((int) (id >>> INDEX_BITS), id & MAX_INDEX);
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
