package io.countersign.core;

/** A submitted value is malformed; names the field and what is wrong with it. */
public final class InvalidRequestException extends CountersignException {
    private final String field;

    public InvalidRequestException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    public String field() {
        return field;
    }

    static String requireText(String field, String value, int max) {
        if (value == null || value.isBlank()) throw new InvalidRequestException(field, "is required");
        return optionalText(field, value, max);
    }

    static String optionalText(String field, String value, int max) {
        if (value == null) return "";
        if (value.length() > max) {
            throw new InvalidRequestException(field, "at most " + max + " characters; got " + value.length());
        }
        return value;
    }
}
