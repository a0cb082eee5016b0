package io.countersign.core;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** What an authenticated identity is. Only {@link #HUMAN} principals ever review. */
public enum PrincipalKind {
    HUMAN,
    AGENT,
    SERVICE;

    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static PrincipalKind fromWire(String value) {
        for (PrincipalKind k : values()) {
            if (k.wire().equals(value)) return k;
        }
        throw new IllegalArgumentException("kind must be one of human, agent, service; got '" + value + "'");
    }
}
