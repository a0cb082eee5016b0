package io.countersign.core;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** Where a request is in its life. The set is closed; {@link RequestStateMachine} moves between them. */
public enum RequestState {
    PENDING,
    APPROVED,
    DENIED,
    EXPIRED,
    CANCELLED,
    REVOKED,
    EXECUTED,
    FAILED;

    /** No event moves a request out of a terminal state. */
    public boolean isTerminal() {
        return this != PENDING && this != APPROVED;
    }

    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static RequestState fromWire(String value) {
        for (RequestState s : values()) {
            if (s.wire().equals(value)) return s;
        }
        throw new IllegalArgumentException("unknown state '" + value + "'");
    }
}
