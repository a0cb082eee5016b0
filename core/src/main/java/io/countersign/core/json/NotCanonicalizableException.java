package io.countersign.core.json;

import io.countersign.core.CountersignException;

/** A JSON value has no RFC 8785 form: a non-finite or inexact number, or a lone surrogate. */
public final class NotCanonicalizableException extends CountersignException {
    public NotCanonicalizableException(String message) {
        super(message);
    }
}
