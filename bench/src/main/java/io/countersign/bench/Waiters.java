package io.countersign.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * N concurrent {@code GET /v1/requests/{id}?wait=...} long-polls, one virtual thread each, spread
 * over a few HttpClients. Records when each reply arrived ({@link System#nanoTime}, which on Linux
 * is CLOCK_MONOTONIC and so comparable between processes on one machine), its status and whether
 * it said approved.
 */
final class Waiters {
    private final URI base;
    private final String key;
    private final List<String> ids;
    private final Duration wait;
    private final List<HttpClient> clients = new ArrayList<>();
    final long[] receivedAt;
    final int[] status;
    final boolean[] approved;
    private final CountDownLatch done;
    private final AtomicReference<String> firstError = new AtomicReference<>();

    Waiters(URI base, String key, List<String> ids, Duration wait, int clients) {
        this.base = base;
        this.key = key;
        this.ids = ids;
        this.wait = wait;
        for (int i = 0; i < clients; i++) {
            this.clients.add(HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(60))
                    .build());
        }
        this.receivedAt = new long[ids.size()];
        this.status = new int[ids.size()];
        this.approved = new boolean[ids.size()];
        this.done = new CountDownLatch(ids.size());
    }

    /** Starts every long-poll, {@code batch} at a time with {@code pause} between batches. */
    void open(int batch, Duration pause) throws InterruptedException {
        for (int i = 0; i < ids.size(); i++) {
            int index = i;
            Thread.ofVirtual().name("waiter-" + i).start(() -> poll(index));
            if ((i + 1) % batch == 0) Thread.sleep(pause);
        }
    }

    private void poll(int i) {
        HttpRequest request = HttpRequest.newBuilder(
                        base.resolve("/v1/requests/" + ids.get(i) + "?wait=" + wait.toSeconds() + "s"))
                .timeout(wait.plusSeconds(60))
                .header("Authorization", "Bearer " + key)
                .GET()
                .build();
        try {
            HttpResponse<String> r =
                    clients.get(i % clients.size()).send(request, HttpResponse.BodyHandlers.ofString());
            receivedAt[i] = System.nanoTime();
            status[i] = r.statusCode();
            approved[i] = r.body().contains("\"state\":\"approved\"");
            if (r.statusCode() != 200) firstError.compareAndSet(null, "HTTP " + r.statusCode() + ": " + r.body());
        } catch (IOException e) {
            receivedAt[i] = System.nanoTime();
            status[i] = -1;
            firstError.compareAndSet(null, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            done.countDown();
        }
    }

    /** Waits until every long-poll has returned; false on timeout. */
    boolean await(Duration timeout) throws InterruptedException {
        return done.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    long returned() {
        return ids.size() - done.getCount();
    }

    String firstError() {
        return firstError.get();
    }

    /** Heap in use after full collections: the figure to difference. */
    static long heapAfterGc() throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
            used = Math.min(
                    used,
                    ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    /** Open file descriptors of this process (sockets included), or -1 off Linux. */
    static long openFiles() {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        } catch (IOException | UnsupportedOperationException e) {
            return -1;
        }
    }
}
