package io.countersign.ledger;

/** The root of the ledger's exceptions. Messages name indexes and sizes, never key material. */
public class LedgerException extends RuntimeException {
    public LedgerException(String message) {
        super(message);
    }

    public LedgerException(String message, Throwable cause) {
        super(message, cause);
    }
}
