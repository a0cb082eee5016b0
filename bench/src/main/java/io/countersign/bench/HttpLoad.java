package io.countersign.bench;

import java.io.BufferedWriter;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;

/**
 * HTTP load on {@code POST /v1/requests}: {@code --concurrency} keep-alive connections each send an
 * allowed request (db.query, readonly=true) and send the next as soon as the reply arrives (or, with
 * {@code --rate}, at its scheduled time), for a warm-up and then a measured period. Reports requests/s, latency percentiles, errors and the
 * store's writes per group commit (from {@code /metrics}). The issue's goal is at least 5,000
 * requests/s with p99 at most 5 ms on 2 cores.
 *
 * <p>By default the server runs in this JVM (loopback, port 0, fresh SQLite with
 * synchronous=FULL), so client and server share the cores; {@code --url} and {@code --key} aim at
 * an external server instead. Only latencies of requests started in the measured period count.
 */
public final class HttpLoad {
    /** The issue's goal: p99 at most 5 ms with 5,000 requests a second offered. */
    static final int GOAL_RATE = 5000;

    static final String BODY = """
            {"action": {"type": "db.query", "params": {"readonly": true, "sql": "select 1"}},
             "resource": {"type": "table", "id": "orders", "env": "prod"},
             "justification": "load test"}""";
    private static final Set<String> FLAGS = Set.of(
            "warmup",
            "duration",
            "concurrency",
            "max-requests",
            "threads",
            "clients",
            "client",
            "rate",
            "url",
            "key",
            "policy",
            "timeout",
            "data",
            "trace");

    /** How the load is sent: see {@link NioLoad}, {@link RawHttp}, and the JDK's HttpClient. */
    enum Client {
        NIO,
        RAW,
        JDK
    }

    enum Threads {
        VIRTUAL,
        PLATFORM
    }

    /** The store's single writer thread (GroupCommitter), found by name in an in-process server. */
    private static final String WRITER_THREAD = "countersign-sqlite-writer";

    private final Flags flags;
    private final Duration warmup;
    private final Duration duration;
    private final int concurrency;
    private final long maxRequests;
    private final Threads threads;
    private final int clients;
    private final Client client;
    private final int rate;
    private final Duration timeout;
    private final Path trace;

    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final AtomicLong issued = new AtomicLong();
    private final LongAdder completedInWindow = new LongAdder();
    private final LongAdder warmUpBacklog = new LongAdder();
    private final AtomicLong lastCompletion = new AtomicLong();

    private HttpLoad(Flags flags) {
        this.flags = flags;
        this.warmup = flags.duration("warmup", Duration.ofSeconds(30));
        this.duration = flags.duration("duration", Duration.ofSeconds(20));
        this.concurrency = flags.count("concurrency", 64, 1);
        this.maxRequests = flags.count("max-requests", 0, 0);
        this.threads = flags.choice("threads", Threads.VIRTUAL);
        this.clients = Math.min(flags.count("clients", 1, 1), concurrency);
        this.client = flags.choice("client", Client.NIO);
        this.rate = flags.count("rate", GOAL_RATE, 0);
        this.timeout = flags.duration("timeout", Duration.ofSeconds(30));
        this.trace =
                Optional.ofNullable(flags.text("trace", null)).map(Path::of).orElse(null);
        if (duration.isZero()) throw new IllegalArgumentException("--duration: must be more than 0s");
        if (flags.has("url") != flags.has("key")) throw new IllegalArgumentException("--url and --key go together");
    }

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--help")) {
            System.out.println(help());
            return;
        }
        HttpLoad load;
        try {
            load = new HttpLoad(new Flags(args, FLAGS));
        } catch (IllegalArgumentException e) {
            System.err.println("http: " + e.getMessage());
            System.exit(2);
            return;
        }
        load.run();
        System.exit(0);
    }

    private void run() throws Exception {
        if (flags.has("url")) {
            measure(URI.create(flags.text("url", null)), flags.text("key", null), "external server");
            return;
        }
        Optional<Path> policy = Optional.ofNullable(flags.text("policy", null)).map(Path::of);
        Optional<Path> under = Optional.ofNullable(flags.text("data", null)).map(Path::of);
        try (InProcessServer s = InProcessServer.start(policy, Duration.ofMinutes(5), under)) {
            measure(s.url(), s.key("deploy-bot"), "in-process server, SQLite synchronous=FULL at " + s.database());
        }
    }

    private void measure(URI base, String key, String target) throws Exception {
        List<HttpClient> pool = new ArrayList<>();
        for (int i = 0; i < clients; i++) pool.add(client());
        HttpRequest request = HttpRequest.newBuilder(base.resolve("/v1/requests"))
                .timeout(timeout)
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(BODY))
                .build();
        System.out.printf(
                Locale.ROOT,
                "HttpLoad: POST %s (db.query readonly=true, allowed), %s, HTTP/1.1; %s%nwarm-up %ss, measured %ss%s; %s%n",
                request.uri(),
                switch (client) {
                    case NIO -> concurrency + " keep-alive connections on a sender and a receiver thread (NIO)";
                    case RAW ->
                        concurrency + " workers on " + threads.name().toLowerCase(Locale.ROOT)
                                + " threads, a keep-alive socket each";
                    case JDK ->
                        concurrency + " workers on " + threads.name().toLowerCase(Locale.ROOT) + " threads, " + clients
                                + " JDK HttpClient(s)";
                },
                target,
                warmup.toMillis() / 1000.0,
                duration.toMillis() / 1000.0,
                maxRequests > 0 ? ", at most " + maxRequests + " requests" : "",
                Report.load());

        long start = System.nanoTime();
        long windowStart = start + warmup.toNanos();
        long windowEnd = windowStart + duration.toNanos();
        List<Figures> figures = new ArrayList<>();
        Scrape[] scrapes = new Scrape[2];
        long[] cpu = new long[2];
        long[] writerCpu = new long[2];
        Report.GcTotals[] gc = new Report.GcTotals[2];
        try (ExecutorService workers = executor()) {
            if (client == Client.NIO) {
                Figures f = figures(figures);
                NioLoad load = new NioLoad(
                        base,
                        "/v1/requests",
                        key,
                        BODY,
                        concurrency,
                        rate,
                        start,
                        windowEnd,
                        timeout.toNanos(),
                        new Recorder(f, windowStart, windowEnd));
                workers.submit(() -> {
                    load.run();
                    return null;
                });
            }
            for (int w = 0; w < (client == Client.NIO ? 0 : concurrency); w++) {
                Figures f = figures(figures);
                Sender sender = client == Client.RAW ? raw(base, key) : jdk(pool.get(w % clients), request);
                long firstSend = start + (rate > 0 ? 1_000_000_000L * w / rate : 0);
                workers.submit(() -> work(sender, f, windowStart, windowEnd, firstSend));
            }
            Scraper scraper = new Scraper(pool.getFirst(), base, start);
            scraper.sleepUntil(windowStart);
            scrapes[0] = Scrape.of(pool.getFirst(), base);
            cpu[0] = Report.processCpuNanos();
            writerCpu[0] = Report.threadCpuNanos(WRITER_THREAD);
            gc[0] = Report.GcTotals.now();
            scraper.sleepUntil(windowEnd);
            scrapes[1] = Scrape.of(pool.getFirst(), base);
            cpu[1] = Report.processCpuNanos();
            writerCpu[1] = Report.threadCpuNanos(WRITER_THREAD);
            gc[1] = Report.GcTotals.now();
        }
        Histogram all = Report.micros();
        Histogram lag = Report.micros();
        Histogram reply = Report.micros();
        for (Figures f : figures) {
            all.add(f.latency());
            lag.add(f.lag());
            reply.add(f.reply());
        }
        print(all, lag, reply, windowStart, windowEnd, scrapes, cpu);
        printWriter(writerCpu, gc, scrapes);
        if (trace != null) writeTrace(figures.stream().map(Figures::times).toList(), windowStart);
    }

    /** What one sender measured: each latency, its two parts, and with --trace each request's times. */
    private record Figures(Histogram latency, Histogram lag, Histogram reply, Trace times) {
        void record(long due, long sent, long done) {
            latency.recordValue(Math.max(1, (done - due) / 1000));
            lag.recordValue(Math.max(1, (sent - due) / 1000));
            reply.recordValue(Math.max(1, (done - sent) / 1000));
            if (times != null) times.add(due / 1000, (sent - due) / 1000, (done - due) / 1000);
        }
    }

    /** A new sender's figures, added to {@code all}; a trace (96 KiB) only when asked for. */
    private Figures figures(List<Figures> all) {
        Figures f = new Figures(Report.micros(), Report.micros(), Report.micros(), trace == null ? null : new Trace());
        all.add(f);
        return f;
    }

    /** Each measured request's times, in microseconds: when it was scheduled to leave, its lag, its latency. */
    private static final class Trace {
        private long[] times = new long[3 * 4096];
        private int size;

        void add(long scheduled, long lag, long latency) {
            if (size + 3 > times.length) times = Arrays.copyOf(times, times.length * 2);
            times[size++] = scheduled;
            times[size++] = lag;
            times[size++] = latency;
        }
    }

    /** Writes every measured request as CSV, in the order they were scheduled: where a tail comes from in time. */
    private void writeTrace(List<Trace> traces, long windowStart) throws IOException {
        List<long[]> rows = new ArrayList<>();
        for (Trace t : traces)
            for (int i = 0; i < t.size; i += 3) rows.add(new long[] {t.times[i], t.times[i + 1], t.times[i + 2]});
        rows.sort(Comparator.comparingLong(r -> r[0]));
        try (BufferedWriter out = Files.newBufferedWriter(trace)) {
            out.write("scheduled_us,lag_us,latency_us\n");
            for (long[] r : rows) out.write((r[0] - windowStart / 1000) + "," + r[1] + "," + r[2] + "\n");
        }
        // The JVM's unified logging decorator "timenanos" is the same clock: -Xlog:gc:file=gc.log:timenanos lines up.
        System.out.printf(
                "trace:        %d requests written to %s (time 0 = System.nanoTime() %d)%n",
                rows.size(), trace, windowStart);
    }

    private HttpClient client() {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
    }

    private ExecutorService executor() {
        return threads == Threads.VIRTUAL
                ? Executors.newVirtualThreadPerTaskExecutor()
                : Executors.newFixedThreadPool(
                        concurrency, Thread.ofPlatform().daemon(true).factory());
    }

    /** One worker's way of sending the request: null when it was accepted (201), else what went wrong. */
    @FunctionalInterface
    private interface Sender {
        String send();
    }

    private static Sender jdk(HttpClient http, HttpRequest request) {
        return () -> send(http, request);
    }

    /** A keep-alive socket per worker, reopened after an error. */
    private static Sender raw(URI base, String key) {
        RawHttp[] connection = new RawHttp[1];
        return () -> {
            try {
                if (connection[0] == null) connection[0] = new RawHttp(base, "/v1/requests", key, BODY);
                int code = connection[0].send();
                return code == 201 ? null : "HTTP " + code;
            } catch (IOException | RuntimeException e) {
                try {
                    if (connection[0] != null) connection[0].close();
                } catch (IOException ignored) {
                    // reopened on the next request
                }
                connection[0] = null;
                return e.getClass().getSimpleName() + ": " + e.getMessage();
            }
        };
    }

    private void work(Sender sender, Figures figures, long windowStart, long windowEnd, long firstSend) {
        long interval = rate > 0 ? 1_000_000_000L * concurrency / rate : 0;
        long scheduled = firstSend;
        while (System.nanoTime() < windowEnd && (maxRequests == 0 || issued.incrementAndGet() <= maxRequests)) {
            if (interval > 0) {
                scheduled = leaveWarmUpBacklog(scheduled, interval, windowStart);
                parkUntil(scheduled);
            }
            long t0 = interval > 0 ? scheduled : System.nanoTime();
            scheduled += interval;
            long sent = System.nanoTime();
            String error = sender.send();
            long t1 = System.nanoTime();
            if (t0 < windowStart) continue;
            if (error != null) failed(error);
            else figures.record(t0, sent, t1);
            if (t1 <= windowEnd) completed(t1);
        }
    }

    private void failed(String error) {
        errors.computeIfAbsent(error, k -> new LongAdder()).increment();
    }

    private void completed(long at) {
        completedInWindow.increment();
        lastCompletion.accumulateAndGet(at, Math::max);
    }

    /** The NIO client's replies into the same figures as the workers': it has one receiving thread. */
    private final class Recorder implements NioLoad.Sink {
        private final Figures figures;
        private final long windowStart;
        private final long windowEnd;

        Recorder(Figures figures, long windowStart, long windowEnd) {
            this.figures = figures;
            this.windowStart = windowStart;
            this.windowEnd = windowEnd;
        }

        @Override
        public void reply(int status, long due, long sent, long done) {
            if (due < windowStart) return;
            if (status == 201) figures.record(due, sent, done);
            else failed("HTTP " + status);
            if (done <= windowEnd) completed(done);
        }

        @Override
        public void failed(String what) {
            HttpLoad.this.failed(what);
        }

        @Override
        public boolean mayIssue() {
            return maxRequests == 0 || issued.incrementAndGet() <= maxRequests;
        }

        @Override
        public long leaveBacklog(long due, long interval) {
            return leaveWarmUpBacklog(due, interval, windowStart);
        }
    }

    /**
     * Open loop: a worker still behind its warm-up schedule when the measured period begins skips the
     * sends scheduled before it. Otherwise the cold JVM's backlog (the JIT compiles for the first
     * seconds) is still being worked off in the measured period, which then reports how fast the
     * server recovers from a cold start, not its latency at the offered rate. Sends scheduled within
     * the measured period are never skipped: those that leave late count from their scheduled time.
     */
    private long leaveWarmUpBacklog(long scheduled, long interval, long windowStart) {
        if (scheduled >= windowStart || System.nanoTime() < windowStart) return scheduled;
        long skipped = (windowStart - scheduled + interval - 1) / interval;
        warmUpBacklog.add(skipped);
        return scheduled + skipped * interval;
    }

    /** Sends one request; null when it was accepted (201), else what went wrong. */
    private static String send(HttpClient http, HttpRequest request) {
        try {
            HttpResponse<byte[]> r = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            return r.statusCode() == 201 ? null : "HTTP " + r.statusCode();
        } catch (IOException e) {
            return e.getClass().getSimpleName() + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private void print(
            Histogram h,
            Histogram lag,
            Histogram reply,
            long windowStart,
            long windowEnd,
            Scrape[] scrapes,
            long[] cpu) {
        long end = maxRequests > 0 ? Math.min(windowEnd, lastCompletion.get()) : windowEnd;
        double seconds = Math.max(1, end - windowStart) / 1e9;
        long errorCount = errors.values().stream().mapToLong(LongAdder::sum).sum();
        double rate = completedInWindow.sum() / seconds;
        System.out.println();
        System.out.printf(
                Locale.ROOT,
                "throughput:   %.0f requests/s  (goal >= 5000)%s%n",
                rate,
                this.rate > 0 ? "; open loop, offered " + this.rate + "/s" : "; closed loop");
        System.out.printf(
                Locale.ROOT,
                "latency:      %s  (%s)%n",
                Report.latencies(h),
                this.rate < GOAL_RATE
                        ? "the p99 goal is at 5,000/s offered: --rate 5000"
                        : "goal p99 <= 5 ms at 5,000/s: " + (h.getValueAtPercentile(99) <= 5000 ? "met" : "MISSED"));
        if (this.rate > 0) {
            System.out.printf(
                    Locale.ROOT,
                    "open loop:    %d sends scheduled in the warm-up were still waiting when the measured period"
                            + " began, and were dropped%n",
                    warmUpBacklog.sum());
            System.out.printf(
                    Locale.ROOT, "  send lag:   %s  (how late each send left its schedule)%n", Report.latencies(lag));
            System.out.printf(
                    Locale.ROOT, "  reply:      %s  (from the actual send to the reply)%n", Report.latencies(reply));
        }
        System.out.printf(Locale.ROOT, "errors:       %d%n", errorCount);
        new TreeMap<>(errors).forEach((what, n) -> System.out.printf(Locale.ROOT, "  %6d  %s%n", n.sum(), what));
        System.out.println("group commit: " + groupCommit(scrapes[0], scrapes[1], duration.toNanos() / 1e9));
        System.out.println("server:       " + decisionTime(scrapes[1]));
        if (cpu[0] >= 0) {
            System.out.printf(
                    Locale.ROOT,
                    "cpu:          this JVM used %.2f cores during the measured period%s; %s%n",
                    (cpu[1] - cpu[0]) / 1e9 / seconds,
                    flags.has("url") ? " (client only)" : " (client and server together)",
                    Report.load());
        }
    }

    /**
     * The in-process store writer's CPU per committed write: every write is serialised through that one
     * thread, so this bounds the store's throughput and, unlike requests/s, hardly moves with the load.
     */
    private void printWriter(long[] writerCpu, Report.GcTotals[] gc, Scrape[] scrapes) {
        if (flags.has("url") || writerCpu[0] < 0 || writerCpu[1] < 0) return;
        double writes = scrapes[0].isEmpty() || scrapes[1].isEmpty()
                ? completedInWindow.sum()
                : scrapes[1].get(Scrape.WRITES).orElse(0)
                        - scrapes[0].get(Scrape.WRITES).orElse(0);
        double nanos = writerCpu[1] - writerCpu[0];
        System.out.printf(
                Locale.ROOT,
                "writer:       %.1f us of the store writer's CPU per write (%.0f%% of a core); %s%n",
                writes == 0 ? 0 : nanos / 1e3 / writes,
                100 * nanos / duration.toNanos(),
                gc[1].since(gc[0]) + " in this JVM during the measured period");
    }

    private static String groupCommit(Scrape before, Scrape after, double seconds) {
        if (before.isEmpty() || after.isEmpty()) return "not available (/metrics did not answer)";
        var w0 = before.get(Scrape.WRITES);
        var c0 = before.get(Scrape.COMMITS);
        var w1 = after.get(Scrape.WRITES);
        var c1 = after.get(Scrape.COMMITS);
        if (w0.isEmpty() || c0.isEmpty() || w1.isEmpty() || c1.isEmpty()) {
            return "not available (no " + Scrape.WRITES + " / " + Scrape.COMMITS + " in /metrics)";
        }
        double writes = w1.getAsDouble() - w0.getAsDouble();
        double commits = c1.getAsDouble() - c0.getAsDouble();
        return String.format(
                Locale.ROOT,
                "%.0f writes in %.0f commits during the measured period = %.1f writes per commit (%.0f commits/s)",
                writes,
                commits,
                commits == 0 ? 0 : writes / commits,
                commits / seconds);
    }

    private static String decisionTime(Scrape s) {
        var p50 = s.find("countersign_policy_decision_seconds", "quantile=\"0.5\"");
        var p99 = s.find("countersign_policy_decision_seconds", "quantile=\"0.99\"");
        if (p50.isEmpty() || p99.isEmpty()) return "policy decision time not available";
        return String.format(
                Locale.ROOT,
                "policy decision p50 %.1f us, p99 %.1f us (server's Micrometer window)",
                p50.getAsDouble() * 1e6,
                p99.getAsDouble() * 1e6);
    }

    private static void parkUntil(long nanoTime) {
        for (long left; (left = nanoTime - System.nanoTime()) > 0; )
            java.util.concurrent.locks.LockSupport.parkNanos(left);
    }

    /**
     * Scrapes {@code /metrics} every {@link #SCRAPE_EVERY} from 5 s into the run, warm-up included, as a
     * Prometheus server scrapes a production one. Measured: with the first scrape only at the start of
     * the measured period, the JIT met that new route in the server's hottest compiled code, threw it
     * away and recompiled it there and then, about 1.7 s of C2 time in the period's first seconds.
     */
    private static final class Scraper {
        static final long SCRAPE_EVERY = 10_000_000_000L;
        private final HttpClient http;
        private final URI base;
        private long next;

        Scraper(HttpClient http, URI base, long start) {
            this.http = http;
            this.base = base;
            this.next = start + 5_000_000_000L;
        }

        void sleepUntil(long nanoTime) throws InterruptedException {
            while (next < nanoTime) {
                HttpLoad.sleepUntil(next);
                Scrape.of(http, base);
                next += SCRAPE_EVERY;
            }
            HttpLoad.sleepUntil(nanoTime);
        }
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left;
        while ((left = nanoTime - System.nanoTime()) > 0) Thread.sleep(Math.min(left / 1_000_000 + 1, 500));
    }

    private static String help() {
        return """
                Usage: bench/run http [options]

                Load on POST /v1/requests with an allowed request (db.query, readonly=true)
                over 64 keep-alive connections: by default 5,000 requests/s offered on a fixed
                schedule (the goal's conditions); with --rate 0, each connection sends the next
                request when the reply arrives, to see the most the server takes. Prints
                requests/s, latency p50/p90/p99/p99.9/max, errors, and the store's writes per
                group commit scraped from /metrics (which it scrapes every 10 s, as Prometheus
                would). Goal: >= 5,000 requests/s, and p99 <= 5 ms at 5,000/s, on 2 cores.

                By default a real server runs in this JVM on 127.0.0.1, port 0, with a fresh
                temporary SQLite database (synchronous=FULL) and the example policy; it is
                deleted afterwards. Client and server then share the machine's cores.

                Options (defaults in brackets):
                  --warmup D         warm-up period, not measured [30s]
                  --duration D       measured period [20s]
                  --concurrency N    concurrent connections (workers) [64]
                  --max-requests N   stop after N requests in all, 0 for no limit [0]
                  --threads T        with --client raw or jdk: virtual or platform worker threads [virtual]
                  --rate R           open loop: the workers together send R requests/s on a fixed schedule and
                                     latency counts from each request's scheduled time (no coordinated
                                     omission); sends of the warm-up still waiting when the measured period
                                     begins are dropped (and counted); 0 = closed loop, each worker sends as
                                     soon as it has an answer [5000]
                  --client C         nio: the connections driven by a sender and a receiver thread, as wrk2
                                     does (about 50 us of CPU per request at 5,000/s); raw: a worker per
                                     connection on its own thread (about 75 us); jdk: java.net.http.HttpClient
                                     (about 0.4 ms) [nio]
                  --clients N        with --client jdk: HttpClient instances shared by the workers [1]
                  --timeout D        per-request timeout [30s]
                  --policy FILE      policy for the in-process server [examples/policy.yaml]
                  --data DIR         where the in-process server's temporary data directory is
                                     made [the system temp dir]; e.g. /dev/shm to see the cost
                                     of the disk's fsync apart from the rest
                  --trace FILE       write each measured request's scheduled time, lag and latency (us) as
                                     CSV, to see when in the run the slow ones came [none]
                  --url URL --key K  load an external server instead (e.g. http://127.0.0.1:8080
                                     and the key of an agent the policy lets run db.query)
                Durations are written like 500ms, 20s, 1m.
                """;
    }
}
