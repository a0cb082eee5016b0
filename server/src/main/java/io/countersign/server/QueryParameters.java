package io.countersign.server;

import io.helidon.webserver.http.ServerRequest;
import java.util.List;

/**
 * The query parameters a route takes. One it does not take is refused rather than ignored: a typo
 * such as {@code ?form=10} for {@code ?from=10} would otherwise be answered with the default, and
 * look like an answer to what was asked.
 */
public final class QueryParameters {
    private QueryParameters() {}

    /**
     * Refuses {@code req} (400 {@code unknown-query-parameter}) if its query names any but {@code
     * known}. An empty name (a stray {@code &}, as in {@code ?start=0&}) names nothing.
     */
    public static void only(ServerRequest req, String... known) {
        List<String> names = List.of(known);
        for (String name : req.query().names()) {
            if (!name.isEmpty() && !names.contains(name))
                throw new Problem(
                                400,
                                "unknown-query-parameter",
                                "Unknown query parameter",
                                "unknown query parameter '" + name + "'; known: " + names)
                        .thrown();
        }
    }
}
