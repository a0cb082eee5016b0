package io.countersign.store;

import io.countersign.core.spi.StorageException;

/** The stored ledger failed its check against the last signed checkpoint: writes are refused. */
public final class LedgerIntegrityException extends StorageException {
    public LedgerIntegrityException(String problem) {
        super("the ledger failed its integrity check, so writes are refused: " + problem, null);
    }
}
