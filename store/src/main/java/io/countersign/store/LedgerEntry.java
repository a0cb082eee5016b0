package io.countersign.store;

/**
 * One ledger entry.
 *
 * @param index its leaf index
 * @param leaf its leaf bytes (RFC 8785 canonical JSON), exactly as hashed
 */
public record LedgerEntry(long index, String leaf) {}
