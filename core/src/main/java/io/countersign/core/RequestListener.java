package io.countersign.core;

/**
 * Observes the request service; bound to metrics and logs by the server. Methods run on the
 * caller's thread after the change is durable and must not block.
 */
public interface RequestListener {
    RequestListener NONE = new RequestListener() {};

    /** A request was submitted and decided. */
    default void submitted(Request request, long decisionNanos) {}

    /** A request moved to a new state. */
    default void transitioned(Request request, RequestState from) {}

    /** An operation was refused. */
    default void refused(Refusal refusal) {}
}
