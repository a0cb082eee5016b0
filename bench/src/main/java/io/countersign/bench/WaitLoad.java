package io.countersign.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.countersign.core.Action;
import io.countersign.core.ActionRequest;
import io.countersign.core.Decision;
import io.countersign.core.Principal;
import io.countersign.core.RequestId;
import io.countersign.core.RequestService;
import io.countersign.core.Resource;
import io.countersign.core.Verdict;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;

/**
 * Many clients blocked in {@code GET /v1/requests/{id}?wait=}: what each costs the server in heap,
 * and how soon each is woken once its request is approved.
 *
 * <p>Submits N requests that need approval (prod shell.exec by deploy-bot, which the example
 * policy routes to group security), opens N long-polls, waits until the server counts N waiting,
 * measures heap after full GCs before and after, then approves every request as carol (in
 * process, through {@link RequestService#review}) and measures, per request, the time from the
 * approval to its waiter receiving the reply.
 *
 * <p>By default the long-polls run in a second JVM ({@code --client-jvm separate}) so the server
 * JVM's heap delta is the server's cost alone and the client's cost is reported apart; with
 * {@code same} both share this JVM (and its file descriptors: 2 per waiter).
 */
public final class WaitLoad {
    private static final Set<String> FLAGS = Set.of(
            "requests",
            "wait",
            "clients",
            "client-jvm",
            "approvers",
            "submitters",
            "open-batch",
            "open-pause",
            "open-timeout",
            "histogram");
    private static final Set<String> CHILD_FLAGS =
            Set.of("url", "key", "ids", "wait", "clients", "open-batch", "open-pause");
    private static final String CHILD = "--waiter-process";

    enum ClientJvm {
        SEPARATE,
        SAME
    }

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--help")) {
            System.out.println(help());
            return;
        }
        try {
            if (args.length > 0 && args[0].equals(CHILD)) {
                ChildSide.run(new Flags(Arrays.copyOfRange(args, 1, args.length), CHILD_FLAGS));
            } else {
                new WaitLoad(new Flags(args, FLAGS)).run();
            }
        } catch (IllegalArgumentException e) {
            System.err.println("wait: " + e.getMessage());
            System.exit(2);
        }
        System.exit(0);
    }

    private final int n;
    private final Duration wait;
    private final int clients;
    private final ClientJvm clientJvm;
    private final int approvers;
    private final int submitters;
    private final int openBatch;
    private final Duration openPause;
    private final Duration openTimeout;
    private final int histogram;

    private WaitLoad(Flags f) {
        n = f.count("requests", 10_000, 1);
        wait = f.duration("wait", Duration.ofSeconds(120));
        clients = f.count("clients", 8, 1);
        clientJvm = f.choice("client-jvm", ClientJvm.SEPARATE);
        approvers = f.count("approvers", 16, 1);
        submitters = f.count("submitters", 64, 1);
        openBatch = f.count("open-batch", 500, 1);
        openPause = f.duration("open-pause", Duration.ofMillis(100));
        openTimeout = f.duration("open-timeout", Duration.ofSeconds(120));
        histogram = f.count("histogram", 0, 0);
    }

    private void run() throws Exception {
        Duration maxWait = wait.compareTo(Duration.ofMinutes(5)) > 0 ? wait : Duration.ofMinutes(5);
        try (InProcessServer s = InProcessServer.start(Optional.empty(), maxWait)) {
            RequestService service = s.server().service();
            System.out.printf(
                    Locale.ROOT,
                    "WaitLoad: %d long-polls (GET /v1/requests/{id}?wait=%ds) on %s, clients in %s JVM, %d HttpClient(s);"
                            + " %s; open-files limit: see /proc/self/limits%n",
                    n,
                    wait.toSeconds(),
                    s.url(),
                    clientJvm.name().toLowerCase(Locale.ROOT),
                    clients,
                    Report.load());
            List<RequestId> ids = submit(service, s.principal("deploy-bot"));
            WaiterSide waiters = clientJvm == ClientJvm.SAME
                    ? new SameJvm(s.url(), s.key("deploy-bot"), ids)
                    : new SeparateJvm(s.url(), s.key("deploy-bot"), ids);
            long serverBefore = Waiters.heapAfterGc();
            long fdBefore = Waiters.openFiles();
            long t0 = System.nanoTime();
            waiters.open();
            awaitWaiting(service, waiters, t0);
            System.out.printf(
                    Locale.ROOT,
                    "opened:       %d waiting after %.1f s%n",
                    service.waiting(),
                    (System.nanoTime() - t0) / 1e9);
            long serverAfter = Waiters.heapAfterGc();
            long fdAfter = Waiters.openFiles();
            printHeap(serverBefore, serverAfter, fdAfter - fdBefore, waiters.heap());
            if (histogram > 0) printHistogram();
            long[][] times = approve(service, s.principal("carol"), ids);
            printWakeUps(times, waiters.results());
            waiters.close();
        }
    }

    private List<RequestId> submit(RequestService service, Principal agent) throws InterruptedException {
        RequestId[] ids = new RequestId[n];
        AtomicInteger next = new AtomicInteger();
        long t0 = System.nanoTime();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int w = 0; w < submitters; w++) {
                pool.submit(() -> {
                    for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                        var r = service.submit(agent, prodShell(i), null).request();
                        if (!(r.decision() instanceof Decision.RequireApproval)) {
                            throw new IllegalStateException("expected require_approval, got " + r.decision());
                        }
                        ids[i] = r.id();
                    }
                    return null;
                });
            }
        }
        if (Arrays.asList(ids).contains(null)) throw new IllegalStateException("some submissions failed");
        System.out.printf(
                Locale.ROOT,
                "submitted:    %d requests needing approval in %.1f s (%.0f/s; RequestService.submit in process, %d concurrent)%n",
                n,
                (System.nanoTime() - t0) / 1e9,
                n / ((System.nanoTime() - t0) / 1e9),
                submitters);
        return List.of(ids);
    }

    private static ActionRequest prodShell(int i) {
        return new ActionRequest(
                new Action("shell.exec", JsonNodeFactory.instance.objectNode().put("command", "uptime")),
                new Resource("host", "web-" + i, "prod", List.of(), null),
                "wait benchmark",
                null,
                null);
    }

    private void awaitWaiting(RequestService service, WaiterSide waiters, long t0) throws InterruptedException {
        long deadline = t0 + openTimeout.toNanos();
        long lastPrint = t0;
        while (service.waiting() < n) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "only " + service.waiting() + " of " + n + " long-polls were waiting after "
                                + openTimeout.toSeconds() + "s (client says: " + waiters.problem() + ")");
            }
            if (System.nanoTime() - lastPrint > 5e9) {
                System.out.printf(Locale.ROOT, "  ... %d waiting%n", service.waiting());
                lastPrint = System.nanoTime();
            }
            Thread.sleep(100);
        }
    }

    private void printHeap(long before, long after, long fds, long[] clientHeap) {
        long delta = after - before;
        String who = clientJvm == ClientJvm.SAME ? "server and clients (one JVM)" : "server JVM only";
        System.out.printf(
                Locale.ROOT,
                "heap (%s): %s before, %s with %d waiting: +%s, %.1f KiB per waiter%n",
                who,
                Report.mib(before),
                Report.mib(after),
                n,
                Report.mib(delta),
                delta / 1024.0 / n);
        if (clientHeap != null) {
            long cd = clientHeap[1] - clientHeap[0];
            System.out.printf(
                    Locale.ROOT,
                    "heap (client JVM): +%s, %.1f KiB per waiter (the load generator's own cost)%n",
                    Report.mib(cd),
                    cd / 1024.0 / n);
        }
        if (fds >= 0) System.out.printf(Locale.ROOT, "open files:   +%d in the server JVM%n", fds);
    }

    /** The top classes of this JVM's heap, from the GC.class_histogram diagnostic command. */
    private void printHistogram() throws Exception {
        var server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
        var name = new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand");
        String text = (String) server.invoke(
                name, "gcClassHistogram", new Object[] {new String[0]}, new String[] {String[].class.getName()});
        System.out.println("heap histogram (this JVM, top " + histogram + " classes):");
        text.lines().limit(histogram + 2L).forEach(l -> System.out.println("  " + l));
    }

    /** Approves every request; per request the nanoTime before calling review and after it returned. */
    private long[][] approve(RequestService service, Principal reviewer, List<RequestId> ids)
            throws InterruptedException {
        long[] called = new long[n];
        long[] returned = new long[n];
        AtomicInteger next = new AtomicInteger();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int w = 0; w < approvers; w++) {
                pool.submit(() -> {
                    for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                        called[i] = System.nanoTime();
                        service.review(ids.get(i), reviewer, Verdict.APPROVE, null, "bench", null);
                        returned[i] = System.nanoTime();
                    }
                    return null;
                });
            }
        }
        long first = Arrays.stream(called).min().orElseThrow();
        long last = Arrays.stream(returned).max().orElseThrow();
        System.out.printf(
                Locale.ROOT,
                "approved:     %d in %.2f s by %d concurrent reviewers (%.0f approvals/s)%n",
                n,
                (last - first) / 1e9,
                approvers,
                n / ((last - first) / 1e9));
        return new long[][] {called, returned};
    }

    private void printWakeUps(long[][] times, Results r) {
        Histogram fromCall = Report.micros();
        Histogram fromCommit = Report.micros();
        int early = 0;
        int notApproved = 0;
        long lastReceived = 0;
        for (int i = 0; i < n; i++) {
            if (r.status()[i] != 200 || !r.approved()[i]) {
                notApproved++;
                continue;
            }
            long received = r.receivedAt()[i];
            lastReceived = Math.max(lastReceived, received);
            fromCall.recordValue(Math.max(1, (received - times[0][i]) / 1000));
            long afterCommit = received - times[1][i];
            if (afterCommit < 0) early++;
            fromCommit.recordValue(Math.max(1, afterCommit / 1000));
        }
        long first = Arrays.stream(times[0]).min().orElseThrow();
        System.out.println("wake-up latency, approval to the waiter holding the reply:");
        System.out.println("  from review() returning (commit done; lower bound): " + Report.latencies(fromCommit));
        System.out.println(
                "  from review() being called (incl. the commit; upper bound): " + Report.latencies(fromCall));
        if (early > 0) {
            System.out.printf(
                    Locale.ROOT,
                    "  (%d replies arrived before review() returned on the approver's thread; counted as 0)%n",
                    early);
        }
        System.out.printf(
                Locale.ROOT,
                "  all %d woken %.2f s after the first approval; %d long-polls did not return approved%s%n",
                n - notApproved,
                (lastReceived - first) / 1e9,
                notApproved,
                r.problem() == null ? "" : " (first problem: " + r.problem() + ")");
    }

    /** What the waiters reported. */
    record Results(long[] receivedAt, int[] status, boolean[] approved, String problem) {}

    /** Where the long-polls run. */
    private interface WaiterSide {
        void open() throws Exception;

        /** Client heap before and after opening, when the client is a separate JVM; else null. */
        long[] heap() throws Exception;

        Results results() throws Exception;

        String problem();

        void close() throws Exception;
    }

    private final class SameJvm implements WaiterSide {
        private final Waiters waiters;

        SameJvm(URI url, String key, List<RequestId> ids) {
            this.waiters =
                    new Waiters(url, key, ids.stream().map(RequestId::value).toList(), wait, clients);
        }

        @Override
        public void open() throws InterruptedException {
            waiters.open(openBatch, openPause);
        }

        @Override
        public long[] heap() {
            return null;
        }

        @Override
        public Results results() throws InterruptedException {
            if (!waiters.await(wait.plusSeconds(60))) System.out.println("  (some long-polls never returned)");
            return new Results(waiters.receivedAt, waiters.status, waiters.approved, waiters.firstError());
        }

        @Override
        public String problem() {
            return waiters.firstError();
        }

        @Override
        public void close() {}
    }

    /** The long-polls in a child JVM, driven over its stdin and stdout (one command or answer a line). */
    private final class SeparateJvm implements WaiterSide {
        private final Process child;
        private final BufferedReader out;
        private final PrintWriter in;
        private final Path idsFile;

        SeparateJvm(URI url, String key, List<RequestId> ids) throws IOException {
            idsFile = Files.createTempFile("countersign-wait-ids-", ".txt");
            Files.write(idsFile, ids.stream().map(RequestId::value).toList());
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(Jvm.quietFlags());
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), WaitLoad.class.getName(), CHILD));
            cmd.addAll(List.of("--url", url.toString(), "--key", key, "--ids", idsFile.toString()));
            cmd.addAll(List.of("--wait", wait.toSeconds() + "s", "--clients", String.valueOf(clients)));
            cmd.addAll(List.of("--open-batch", String.valueOf(openBatch), "--open-pause", openPause.toMillis() + "ms"));
            child = new ProcessBuilder(cmd)
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            in = new PrintWriter(child.getOutputStream(), true, StandardCharsets.UTF_8);
        }

        @Override
        public void open() throws IOException {
            expect("READY");
            in.println("OPEN");
            expect("OPENING");
        }

        @Override
        public long[] heap() throws IOException {
            in.println("HEAP");
            String[] parts = expect("HEAP").split(" ");
            return new long[] {Long.parseLong(parts[1]), Long.parseLong(parts[2])};
        }

        @Override
        public Results results() throws IOException {
            in.println("RESULTS");
            long[] at = new long[n];
            int[] status = new int[n];
            boolean[] approved = new boolean[n];
            String line;
            String problem = null;
            while (!(line = next()).equals("END")) {
                if (line.startsWith("PROBLEM ")) {
                    problem = line.substring(8);
                    continue;
                }
                String[] p = line.split(" ");
                int i = Integer.parseInt(p[0]);
                at[i] = Long.parseLong(p[1]);
                status[i] = Integer.parseInt(p[2]);
                approved[i] = p[3].equals("1");
            }
            return new Results(at, status, approved, problem);
        }

        @Override
        public String problem() {
            return child.isAlive() ? "still running" : "exited with " + child.exitValue();
        }

        private String expect(String prefix) throws IOException {
            String line = next();
            if (!line.startsWith(prefix))
                throw new IllegalStateException("client JVM said '" + line + "', not " + prefix);
            return line;
        }

        private String next() throws IOException {
            String line = out.readLine();
            if (line == null) throw new IllegalStateException("the client JVM exited (" + problem() + ")");
            return line;
        }

        @Override
        public void close() throws Exception {
            in.println("EXIT");
            child.waitFor();
            Files.deleteIfExists(idsFile);
        }
    }

    /** The child JVM's side of {@link SeparateJvm}. */
    private static final class ChildSide {
        static void run(Flags f) throws Exception {
            PrintStream out = System.out;
            List<String> ids = Files.readAllLines(Path.of(f.text("ids", null)));
            Duration wait = f.duration("wait", Duration.ofSeconds(120));
            Waiters w = new Waiters(
                    URI.create(f.text("url", null)), f.text("key", null), ids, wait, f.count("clients", 8, 1));
            BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            long before = Waiters.heapAfterGc();
            out.println("READY");
            String cmd;
            while ((cmd = commands.readLine()) != null) {
                switch (cmd) {
                    case "OPEN" -> {
                        out.println("OPENING");
                        w.open(f.count("open-batch", 500, 1), f.duration("open-pause", Duration.ofMillis(100)));
                    }
                    case "HEAP" -> out.println("HEAP " + before + " " + Waiters.heapAfterGc());
                    case "RESULTS" -> results(out, w, wait);
                    case "EXIT" -> {
                        return;
                    }
                    default -> throw new IllegalStateException("unknown command " + cmd);
                }
            }
        }

        private static void results(PrintStream out, Waiters w, Duration wait) throws InterruptedException {
            if (!w.await(wait.plusSeconds(60))) out.println("PROBLEM only " + w.returned() + " long-polls returned");
            if (w.firstError() != null) out.println("PROBLEM " + w.firstError().replace('\n', ' '));
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < w.receivedAt.length; i++) {
                b.append(i)
                        .append(' ')
                        .append(w.receivedAt[i])
                        .append(' ')
                        .append(w.status[i])
                        .append(' ')
                        .append(w.approved[i] ? '1' : '0')
                        .append('\n');
            }
            out.print(b);
            out.println("END");
            out.flush();
        }
    }

    private static String help() {
        return """
                Usage: bench/run wait [options]

                Submits N requests that need approval (prod shell.exec by the agent deploy-bot;
                the example policy routes them to group security), opens N concurrent
                GET /v1/requests/{id}?wait=... long-polls, waits until the server counts N
                waiting, and reports the heap they cost (after full GCs, before and after).
                Then approves every request as carol and reports the wake-up latency: from each
                approval to its waiter receiving the reply, p50 / p99 / max.

                Options (defaults in brackets):
                  --requests N       requests and long-polls [10000]
                  --wait D           the ?wait= of each long-poll [120s]
                  --client-jvm J     separate: long-polls in a child JVM, so the server's heap
                                     figure is its own; same: in this JVM [separate]
                  --clients N        HttpClient instances the long-polls are spread over [8]
                  --open-batch N     long-polls started at a time [500]
                  --open-pause D     pause between batches [100ms]
                  --open-timeout D   give up if not all are waiting by then [120s]
                  --submitters N     concurrent in-process submissions [64]
                  --approvers N      concurrent in-process approvals [16]
                  --histogram N      print the top N classes of the server JVM's heap while
                                     all are waiting [0: don't]

                Each long-poll holds one TCP connection: the server JVM needs about N open files
                beyond its own, and so does the client JVM (2N in one JVM with --client-jvm same).
                Check 'ulimit -n' (bench/run raises the soft limit to the hard limit).
                """;
    }
}
