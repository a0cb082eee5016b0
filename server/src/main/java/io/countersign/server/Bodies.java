package io.countersign.server;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import io.countersign.core.InvalidRequestException;
import io.countersign.core.json.Json;
import io.countersign.core.json.JsonMismatch;
import io.countersign.core.json.NotCanonicalizableException;
import io.countersign.core.json.Utf8;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.util.stream.Collectors;

/**
 * Reads JSON request bodies strictly: at most 1 MiB, {@code application/json}, UTF-8, no unknown
 * fields, no duplicate keys, no trailing data, no scalar of another JSON type converted ({@link
 * Json#clientMapper()}). Each failure is its own problem type.
 */
final class Bodies {
    static final int MAX_BYTES = 1 << 20;

    private Bodies() {}

    static <T> T read(ServerRequest req, Class<T> type) {
        byte[] bytes = bytes(req);
        requireUtf8(bytes);
        try {
            T value = Json.clientMapper().readValue(bytes, type);
            if (value == null) throw problem(400, "malformed-json", "Malformed JSON", "the body is JSON null");
            return value;
        } catch (UnrecognizedPropertyException e) {
            throw problem(
                    400,
                    "unknown-field",
                    "Unknown field",
                    "unknown field '" + path(e) + "'; known: " + e.getKnownPropertyIds());
        } catch (ValueInstantiationException e) {
            throw invalid(e.getCause() == null ? e : e.getCause(), e);
        } catch (InvalidFormatException e) { // a refused coercion among them: reason 12 for a string
            throw problem(400, "invalid-field", "Invalid field value", path(e) + ": " + JsonMismatch.describe(e));
        } catch (MismatchedInputException e) {
            if (e.getOriginalMessage().startsWith("Trailing token")) {
                throw problem(400, "malformed-json", "Malformed JSON", "there is data after the JSON value");
            }
            String where = path(e);
            String detail = bytes.length == 0
                    ? "the body is empty"
                    : (where.isEmpty() ? "" : where + ": ") + JsonMismatch.describe(e);
            throw bytes.length == 0
                    ? problem(400, "malformed-json", "Malformed JSON", detail)
                    : problem(400, "invalid-field", "Invalid field value", detail);
        } catch (JsonParseException e) {
            throw problem(
                    400,
                    "malformed-json",
                    "Malformed JSON",
                    e.getOriginalMessage() + " at line " + e.getLocation().getLineNr() + ", column "
                            + e.getLocation().getColumnNr());
        } catch (JsonProcessingException e) {
            throw invalid(e.getCause() == null ? e : e.getCause(), e);
        } catch (IOException e) {
            throw problem(400, "malformed-json", "Malformed JSON", e.getMessage());
        }
    }

    /** JSON is UTF-8; the parser would read some invalid forms as other characters ({@link Utf8}). */
    private static void requireUtf8(byte[] bytes) {
        int at = Utf8.invalidAt(bytes);
        if (at >= 0)
            throw problem(
                    400, "malformed-json", "Malformed JSON", "the body is not valid UTF-8 (at byte offset " + at + ")");
    }

    private static Problem.Thrown invalid(Throwable cause, JsonProcessingException e) {
        if (cause instanceof InvalidRequestException ire) {
            return problem(422, "invalid-request", "Invalid request", ire.getMessage());
        }
        if (cause instanceof NotCanonicalizableException nce) {
            return problem(422, "not-canonicalizable", "Value has no canonical JSON form", nce.getMessage());
        }
        if (cause instanceof IllegalArgumentException iae) {
            return problem(400, "invalid-field", "Invalid field value", path(e) + ": " + iae.getMessage());
        }
        return problem(400, "invalid-field", "Invalid field value", e.getOriginalMessage());
    }

    private static String path(JsonProcessingException e) {
        if (!(e instanceof com.fasterxml.jackson.databind.JsonMappingException m)) return "";
        return m.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining("."))
                .replace(".[", "[");
    }

    /** The raw body, at most 1 MiB, of type {@code application/json} (or none given). */
    static byte[] bytes(ServerRequest req) {
        String type = req.headers().first(HeaderNames.CONTENT_TYPE).orElse("");
        String mediaType = type.split(";", 2)[0].strip().toLowerCase(java.util.Locale.ROOT);
        if (!type.isEmpty() && !mediaType.equals("application/json")) {
            throw problem(
                    415, "unsupported-media-type", "Unsupported media type", "send application/json; got " + type);
        }
        long declared = req.headers().contentLength().orElse(-1);
        if (declared > MAX_BYTES) throw tooLarge();
        if (!req.content().hasEntity()) return new byte[0];
        try (InputStream in = req.content().inputStream()) {
            // With its length declared, the body is read into an array of that length: the open-ended
            // read allocates 16 KiB per call, which under load was a quarter of all the server allocated.
            byte[] b = in.readNBytes(declared >= 0 ? (int) declared : MAX_BYTES + 1);
            if (b.length > MAX_BYTES) throw tooLarge();
            return b;
        } catch (IOException e) {
            throw problem(400, "unreadable-body", "Unreadable body", e.getMessage());
        } catch (Problem.Thrown e) {
            throw e;
        } catch (RuntimeException e) {
            // The HTTP layer's own failures to frame the body: a chunk size that is no number, a body
            // shorter than its Content-Length. The client's mistake, not the server's.
            throw problem(400, "unreadable-body", "Unreadable body", "the body is not framed as its headers say");
        }
    }

    private static Problem.Thrown tooLarge() {
        return problem(413, "body-too-large", "Body too large", "request bodies are limited to 1 MiB (1048576 bytes)");
    }

    static Problem.Thrown problem(int status, String slug, String title, String detail) {
        return new Problem(status, slug, title, detail).thrown();
    }

    /** JSON for a node (used for responses). */
    static byte[] write(JsonNode node) {
        try {
            return Json.mapper().writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serialises", e);
        }
    }
}
