package io.countersign.core.policy;

import io.countersign.core.CountersignException;

/** A policy file was refused at load: names the rule (or top-level key) and what is wrong. */
public final class PolicyException extends CountersignException {
    public PolicyException(String message) {
        super(message);
    }

    public PolicyException(String message, Throwable cause) {
        super(message, cause);
    }
}
