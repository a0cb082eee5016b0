package io.countersign.ledger;

/**
 * Reads stored hashes of perfect subtrees. A node is named by {@link Subtree#id(int, long)}: level 0
 * holds the leaf hashes, level {@code k} index {@code i} the root of leaves {@code [i·2^k, (i+1)·2^k)}.
 * Only complete subtrees are ever stored, so a stored node never changes.
 */
@FunctionalInterface
public interface NodeReader {
    /**
     * The hashes of {@code ids}, in the same order.
     *
     * @throws LedgerException if a node is missing
     */
    byte[][] read(long[] ids);
}
