package io.countersign.core;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** A reviewer's verdict. */
public enum Verdict {
    APPROVE,
    DENY;

    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static Verdict fromWire(String value) {
        for (Verdict v : values()) {
            if (v.wire().equals(value)) return v;
        }
        throw new IllegalArgumentException("verdict must be approve or deny; got '" + value + "'");
    }
}
