package io.countersign.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalDouble;

/** One scrape of the server's Prometheus {@code /metrics}: sample lines by name and labels. */
record Scrape(Map<String, Double> samples) {
    static final String WRITES = "countersign_store_writes_total";
    static final String COMMITS = "countersign_store_commits_total";

    /** Scrapes {@code base}/metrics; an unreachable endpoint gives an empty scrape, not an error. */
    static Scrape of(HttpClient http, URI base) {
        try {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(base.resolve("/metrics"))
                            .timeout(Duration.ofSeconds(10))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? parse(r.body()) : new Scrape(Map.of());
        } catch (IOException e) {
            return new Scrape(Map.of());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Scrape(Map.of());
        }
    }

    static Scrape parse(String text) {
        Map<String, Double> m = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            int space = line.lastIndexOf(' ');
            try {
                m.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
            } catch (NumberFormatException | StringIndexOutOfBoundsException ignored) {
                // not a sample line
            }
        }
        return new Scrape(Map.copyOf(m));
    }

    /** A sample by its full key, e.g. {@code name{label="v"}}; empty when absent. */
    OptionalDouble get(String key) {
        Double v = samples.get(key);
        return v == null ? OptionalDouble.empty() : OptionalDouble.of(v);
    }

    /** The first sample whose key starts with {@code name} and contains every label given. */
    OptionalDouble find(String name, String... labels) {
        outer:
        for (Map.Entry<String, Double> e : samples.entrySet()) {
            String k = e.getKey();
            if (!k.equals(name) && !k.startsWith(name + "{")) continue;
            for (String l : labels) {
                if (!k.contains(l)) continue outer;
            }
            return OptionalDouble.of(e.getValue());
        }
        return OptionalDouble.empty();
    }

    boolean isEmpty() {
        return samples.isEmpty();
    }
}
