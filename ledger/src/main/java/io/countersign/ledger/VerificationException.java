package io.countersign.ledger;

/** A proof, a signature, a checkpoint or an entry did not verify. The message says what and where. */
public final class VerificationException extends LedgerException {
    public VerificationException(String message) {
        super(message);
    }
}
