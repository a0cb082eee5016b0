package io.countersign.bench;

import io.countersign.core.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code --name value} flags for the load generators; an unknown flag or a bad value stops the run. */
final class Flags {
    private final Map<String, String> values = new HashMap<>();

    Flags(String[] args, Set<String> known) {
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (!name.startsWith("--") || !known.contains(name.substring(2))) {
                throw new IllegalArgumentException(
                        "unknown option '" + name + "' (known: --" + String.join(", --", known) + ", --help)");
            }
            if (i + 1 == args.length) throw new IllegalArgumentException(name + " needs a value");
            values.put(name.substring(2), args[++i]);
        }
    }

    String text(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    int count(String name, int fallback, int min) {
        String v = values.get(name);
        if (v == null) return fallback;
        try {
            int n = Integer.parseInt(v.replace("_", ""));
            if (n >= min) return n;
        } catch (NumberFormatException ignored) {
            // fall through
        }
        throw new IllegalArgumentException("--" + name + ": must be a whole number >= " + min + "; got '" + v + "'");
    }

    /** A comma-separated list of whole numbers, each optionally ending in k (thousand) or M (million). */
    List<Long> counts(String name, List<Long> fallback, long min) {
        String v = values.get(name);
        if (v == null) return fallback;
        List<Long> out = new ArrayList<>();
        for (String item : v.split(",")) out.add(amount(name, item.strip(), min));
        return List.copyOf(out);
    }

    private static long amount(String name, String item, long min) {
        String digits = item.replace("_", "");
        long scale = 1;
        if (digits.endsWith("k") || digits.endsWith("K")) scale = 1_000;
        if (digits.endsWith("m") || digits.endsWith("M")) scale = 1_000_000;
        if (scale > 1) digits = digits.substring(0, digits.length() - 1);
        try {
            long n = Math.multiplyExact(Long.parseLong(digits), scale);
            if (n >= min) return n;
        } catch (NumberFormatException | ArithmeticException ignored) {
            // fall through
        }
        throw new IllegalArgumentException("--" + name + ": each value must be a whole number >= " + min
                + " (1000, 200k, 10M); got '" + item + "'");
    }

    Duration duration(String name, Duration fallback) {
        String v = values.get(name);
        if (v == null) return fallback;
        try {
            return Durations.parse(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--" + name + ": " + e.getMessage());
        }
    }

    <E extends Enum<E>> E choice(String name, E fallback) {
        String v = values.get(name);
        if (v == null) return fallback;
        try {
            return Enum.valueOf(
                    fallback.getDeclaringClass(),
                    v.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--" + name + ": unknown value '" + v + "'");
        }
    }

    boolean has(String name) {
        return values.containsKey(name);
    }
}
