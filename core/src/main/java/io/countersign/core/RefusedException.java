package io.countersign.core;

/** An operation on a request was refused; {@link #refusal()} says which rule refused it. */
public final class RefusedException extends CountersignException {
    private final Refusal refusal;

    public RefusedException(Refusal refusal, String message) {
        super(message);
        this.refusal = refusal;
    }

    public Refusal refusal() {
        return refusal;
    }
}
