package io.countersign.bench;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/** Formatting shared by the load generators. */
final class Report {
    private Report() {}

    /** A histogram of microseconds, 1 µs to 10 min, 3 significant digits. */
    static Histogram micros() {
        return new Histogram(600_000_000L, 3);
    }

    static String millis(Histogram h, double percentile) {
        return String.format(Locale.ROOT, "%.2f", h.getValueAtPercentile(percentile) / 1000.0);
    }

    static String latencies(Histogram h) {
        return String.format(
                Locale.ROOT,
                "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (ms, %d samples)",
                millis(h, 50),
                millis(h, 90),
                millis(h, 99),
                millis(h, 99.9),
                String.format(Locale.ROOT, "%.2f", h.getMaxValue() / 1000.0),
                h.getTotalCount());
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }

    /** The machine's 1-minute load average and core count, to judge how noisy a run was. */
    static String load() {
        var os = ManagementFactory.getOperatingSystemMXBean();
        return String.format(
                Locale.ROOT,
                "load average %.2f on %d cores",
                os.getSystemLoadAverage(),
                Runtime.getRuntime().availableProcessors());
    }

    /** Collections and their total time so far, summed over this JVM's collectors. */
    record GcTotals(long count, long millis) {
        static GcTotals now() {
            long count = 0;
            long millis = 0;
            for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                count += Math.max(0, gc.getCollectionCount());
                millis += Math.max(0, gc.getCollectionTime());
            }
            return new GcTotals(count, millis);
        }

        /** What happened since {@code before}, e.g. "GC 12 collections, 85 ms". */
        String since(GcTotals before) {
            return "GC " + (count - before.count) + " collections, " + (millis - before.millis) + " ms";
        }
    }

    /**
     * CPU time the live threads named {@code name} have used, in nanoseconds (-1 where the JVM cannot
     * tell or no such thread runs): e.g. the store's single writer, whose CPU per write bounds the
     * store's throughput whatever else the machine is doing.
     */
    static long threadCpuNanos(String name) {
        var threads = ManagementFactory.getThreadMXBean();
        if (!threads.isThreadCpuTimeSupported()) return -1;
        long total = -1;
        for (var info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info == null || !info.getThreadName().equals(name)) continue;
            long cpu = threads.getThreadCpuTime(info.getThreadId());
            if (cpu >= 0) total = Math.max(total, 0) + cpu;
        }
        return total;
    }

    /** CPU time this process has used, in nanoseconds (-1 where the JVM cannot tell). */
    static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }
}
