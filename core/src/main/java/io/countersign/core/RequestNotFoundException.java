package io.countersign.core;

/** No request with that id exists, or the caller may not see it (the two are not told apart). */
public final class RequestNotFoundException extends CountersignException {
    public RequestNotFoundException(RequestId id) {
        super("no request " + id);
    }
}
