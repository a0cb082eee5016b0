package io.countersign.server;

import io.countersign.core.CountersignException;

/** The server could not start: says what it could not do and how to fix it. */
public final class ServerStartException extends CountersignException {
    public ServerStartException(String message) {
        super(message);
    }
}
