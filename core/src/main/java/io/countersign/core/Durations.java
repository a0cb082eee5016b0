package io.countersign.core;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Human durations as written in policy and config: {@code 90s}, {@code 30m}, {@code 1h30m}, {@code 2d}. */
public final class Durations {
    private static final Pattern WHOLE = Pattern.compile("(\\d+(ms|s|m|h|d))+");
    private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

    private Durations() {}

    /** Parses {@code text}; throws IllegalArgumentException naming the text when it is not a duration. */
    public static Duration parse(String text) {
        if (text == null || !WHOLE.matcher(text).matches()) {
            throw new IllegalArgumentException("not a duration: '" + text + "' (write e.g. 90s, 30m, 1h30m, 2d)");
        }
        Duration total = Duration.ZERO;
        Matcher m = PART.matcher(text);
        while (m.find()) {
            long n = Long.parseLong(m.group(1));
            total = total.plus(
                    switch (m.group(2)) {
                        case "ms" -> Duration.ofMillis(n);
                        case "s" -> Duration.ofSeconds(n);
                        case "m" -> Duration.ofMinutes(n);
                        case "h" -> Duration.ofHours(n);
                        default -> Duration.ofDays(n);
                    });
        }
        return total;
    }

    /** The shortest form {@link #parse} reads back, e.g. {@code 1h30m}. */
    public static String format(Duration d) {
        if (d.isZero()) return "0s";
        StringBuilder out = new StringBuilder();
        long days = d.toDaysPart();
        if (days > 0) out.append(days).append('d');
        if (d.toHoursPart() > 0) out.append(d.toHoursPart()).append('h');
        if (d.toMinutesPart() > 0) out.append(d.toMinutesPart()).append('m');
        if (d.toSecondsPart() > 0) out.append(d.toSecondsPart()).append('s');
        if (d.toMillisPart() > 0) out.append(d.toMillisPart()).append("ms");
        return out.toString();
    }
}
