package io.countersign.ledger;

import java.util.Arrays;
import java.util.List;

/**
 * The right edge of a growing tree: the hashes of the perfect subtrees that cover leaves {@code [0,
 * size)}, one per set bit of {@code size}. Appending a leaf merges equal-sized subtrees, reporting
 * every subtree it completes, so a log can store each node exactly once, when it is complete. Memory
 * and work per leaf are O(log n) at most and O(1) amortised.
 *
 * <p>Not thread-safe: the sequencer owns one; the offline verifier owns another.
 */
public final class CompactRange {
    /** Receives each perfect subtree as it is completed: leaves first, then the nodes they complete. */
    @FunctionalInterface
    public interface NodeSink {
        void completed(int level, long index, byte[] hash);
    }

    private final Hashes hashes = new Hashes();
    private long size;
    private byte[][] edge = new byte[8][];
    private int depth;

    /** The empty tree. */
    public CompactRange() {}

    /** The tree of {@code size} leaves whose right edge is read from stored nodes: O(log n) reads. */
    public static CompactRange restore(long size, NodeReader nodes) {
        CompactRange r = new CompactRange();
        if (size == 0) return r;
        List<Subtree> cover = Subtree.cover(0, size);
        byte[][] hashes = nodes.read(cover.stream().mapToLong(Subtree::id).toArray());
        for (byte[] h : hashes) r.push(h);
        r.size = size;
        return r;
    }

    public long size() {
        return size;
    }

    /** Appends a leaf by its hash, telling {@code sink} of the leaf and of every subtree it completes. */
    public void append(byte[] leafHash, NodeSink sink) {
        long index = size;
        sink.completed(0, index, leafHash);
        byte[] h = leafHash;
        int level = 0;
        // Each set low bit of the old size is a subtree of that level waiting for a right sibling.
        while (((index >>> level) & 1) == 1) {
            h = hashes.nodeHash(edge[--depth], h);
            level++;
            sink.completed(level, index >>> level, h);
        }
        push(h);
        size++;
    }

    /** Appends a leaf when nobody needs the completed subtrees. */
    public void append(byte[] leafHash) {
        append(leafHash, (l, i, h) -> {});
    }

    /** The root hash of the leaves so far (RFC 9162 MTH). */
    public byte[] root() {
        if (depth == 0) return Hashes.emptyRoot();
        byte[] acc = edge[depth - 1];
        for (int i = depth - 2; i >= 0; i--) acc = hashes.nodeHash(edge[i], acc);
        return acc;
    }

    /** An independent copy, so that a failed batch can be undone by keeping the old one. */
    public CompactRange copy() {
        CompactRange c = new CompactRange();
        c.size = size;
        c.depth = depth;
        c.edge = Arrays.copyOf(edge, edge.length);
        return c;
    }

    private void push(byte[] h) {
        if (depth == edge.length) edge = Arrays.copyOf(edge, depth * 2);
        edge[depth++] = h;
    }
}
