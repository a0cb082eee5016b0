package io.countersign.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class NioLoadTest {
    /** Everything the load reported. */
    static final class Seen implements NioLoad.Sink {
        final List<long[]> replies = new CopyOnWriteArrayList<>();
        final ConcurrentHashMap<String, AtomicInteger> failures = new ConcurrentHashMap<>();
        final AtomicInteger issued = new AtomicInteger();
        final int limit;

        Seen(int limit) {
            this.limit = limit;
        }

        @Override
        public void reply(int status, long due, long sent, long done) {
            replies.add(new long[] {status, due, sent, done});
        }

        @Override
        public void failed(String what) {
            failures.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
        }

        @Override
        public boolean mayIssue() {
            return limit == 0 || issued.incrementAndGet() <= limit;
        }

        @Override
        public long leaveBacklog(long due, long interval) {
            return due;
        }
    }

    @Test
    void anOpenLoopSendsEachRequestAtItsTimeToARealServerAndReadsEveryReply() throws Exception {
        try (InProcessServer server = InProcessServer.start(Optional.empty(), Duration.ofMinutes(1))) {
            // A cold server's first replies can take longer than a connection's 40 ms between sends, and
            // a send still behind its schedule at the end is never made: warm it first.
            long warm = System.nanoTime();
            run(server.url(), server.key("deploy-bot"), 4, 0, warm, warm + 30_000_000_000L, new Seen(200));
            Seen seen = new Seen(0);
            long start = System.nanoTime() + 200_000_000L;
            long end = start + 1_000_000_000L;
            // 200/s over 8 connections for 1 s: connection i is due at start + i * 5 ms + k * 40 ms
            run(server.url(), server.key("deploy-bot"), 8, 200, start, end, seen);

            assertThat(seen.failures).isEmpty();
            assertThat(seen.replies).hasSize(200);
            assertThat(seen.replies).allSatisfy(r -> {
                assertThat(r[0]).isEqualTo(201);
                assertThat((r[1] - start) % 5_000_000L).isZero(); // due on the schedule
                assertThat(r[2]).isGreaterThanOrEqualTo(r[1]); // never sent early
                assertThat(r[3]).isGreaterThan(r[2]);
            });
            assertThat(seen.replies.stream().map(r -> r[1]).distinct()).hasSize(200);
        }
    }

    @Test
    void aClosedLoopSendsTheNextRequestOnEachReplyAndStopsAtTheLimit() throws Exception {
        try (InProcessServer server = InProcessServer.start(Optional.empty(), Duration.ofMinutes(1))) {
            Seen seen = new Seen(150);
            long start = System.nanoTime();
            run(server.url(), server.key("deploy-bot"), 4, 0, start, start + 30_000_000_000L, seen);

            assertThat(seen.failures).isEmpty();
            assertThat(seen.replies)
                    .hasSize(150)
                    .allSatisfy(r -> assertThat(r[0]).isEqualTo(201));
        }
    }

    @Test
    void aRefusedRequestIsReportedWithItsStatus() throws Exception {
        try (InProcessServer server = InProcessServer.start(Optional.empty(), Duration.ofMinutes(1))) {
            Seen seen = new Seen(3);
            long start = System.nanoTime();
            run(server.url(), "cs_not-a-key", 1, 0, start, start + 30_000_000_000L, seen);

            assertThat(seen.replies).hasSize(3).allSatisfy(r -> assertThat(r[0]).isEqualTo(401));
        }
    }

    @Test
    void aReplyWithoutContentLengthIsAFailureAndTheConnectionIsOpenedAgain() throws Exception {
        AtomicInteger accepted = new AtomicInteger();
        try (ServerSocket peer = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                while (!peer.isClosed()) {
                    try {
                        Socket s = peer.accept();
                        accepted.incrementAndGet();
                        Thread.ofVirtual().start(() -> answerWithoutLength(s));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            Seen seen = new Seen(2);
            long start = System.nanoTime();
            URI url = URI.create("http://127.0.0.1:" + peer.getLocalPort());
            run(url, "k", 1, 0, start, start + 30_000_000_000L, seen);

            assertThat(seen.replies).isEmpty();
            assertThat(seen.failures).containsOnlyKeys("a reply without Content-Length");
            assertThat(seen.failures.get("a reply without Content-Length")).hasValue(2);
            assertThat(accepted).hasValue(3); // the first, and a fresh one after each failure
        }
    }

    /** Runs a load of {@code n} connections on {@code url}'s /v1/requests with the bench's request body. */
    private static void run(URI url, String key, int n, int rate, long start, long end, Seen seen) throws Exception {
        new NioLoad(url, "/v1/requests", key, HttpLoad.BODY, n, rate, start, end, 10_000_000_000L, seen).run();
    }

    private static void answerWithoutLength(Socket s) {
        try (s;
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream()) {
            in.read(new byte[4096]);
            out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            in.read(); // until the client goes
        } catch (IOException ignored) {
            // the client closed it
        }
    }

    @Test
    void aResponseIsCompleteOnlyWithItsWholeBody() {
        String reply = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\ncontent-length: 5\r\n\r\nhello";
        byte[] bytes = reply.getBytes(StandardCharsets.US_ASCII);
        for (int cut = 0; cut < bytes.length; cut++) {
            ByteBuffer partial = ByteBuffer.allocate(256);
            partial.put(bytes, 0, cut);
            assertThat(NioLoad.complete(partial)).as("after %d bytes", cut).isZero();
        }
        ByteBuffer whole = ByteBuffer.allocate(256).put(bytes);
        assertThat(NioLoad.complete(whole)).isEqualTo(201);

        String mixed = "HTTP/1.1 404 Not Found\r\nX-Length: 1\r\nContent-Length: 12\r\n\r\n";
        ByteBuffer headOnly = ByteBuffer.allocate(256).put(mixed.getBytes(StandardCharsets.US_ASCII));
        assertThat(NioLoad.complete(headOnly)).as("12 body bytes to come").isZero();
        headOnly.put("{\"x\":\"abcd\"}".getBytes(StandardCharsets.US_ASCII));
        assertThat(NioLoad.complete(headOnly)).isEqualTo(404);
        ByteBuffer noLength = ByteBuffer.allocate(256)
                .put("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(NioLoad.complete(noLength)).isEqualTo(-1);
    }
}
