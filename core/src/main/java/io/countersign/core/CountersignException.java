package io.countersign.core;

/**
 * The root of every exception Countersign's core throws. Subclasses are named for what failed;
 * messages carry ids and counts, never secrets. Translated to problem+json only at the HTTP edge.
 */
public class CountersignException extends RuntimeException {
    public CountersignException(String message) {
        super(message);
    }

    public CountersignException(String message, Throwable cause) {
        super(message, cause);
    }
}
