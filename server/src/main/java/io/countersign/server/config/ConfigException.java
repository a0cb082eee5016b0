package io.countersign.server.config;

import io.countersign.core.CountersignException;

/** The configuration was refused at start: names the key and the bad value. */
public final class ConfigException extends CountersignException {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
