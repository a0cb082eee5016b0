package io.countersign.core.spi;

import io.countersign.core.CountersignException;

/** The store failed; nothing of the failed write was kept. */
public class StorageException extends CountersignException {
    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
