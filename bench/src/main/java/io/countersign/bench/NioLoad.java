package io.countersign.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.LockSupport;

/**
 * The load generator's own cost kept small: N keep-alive connections driven by two platform threads,
 * a sender that sends each connection's requests at their scheduled times and a receiver that reads
 * every reply through one {@link Selector}, as wrk2 does. A worker per connection on a virtual thread
 * costs the client about 75 us of CPU per request (a timed park, a poller registration and two
 * wake-ups), a third of a core at 5,000/s on a machine with two; this costs a fraction of that, and
 * leaves the cores to the server being measured.
 *
 * <p>The schedule is the virtual-thread workers' one: with {@code rate} R, connection i sends at
 * {@code start + i/R + k·N/R}. A connection whose reply has not come by its next time sends as soon
 * as it comes, and its latency still counts from the time it was due. With R = 0 each connection
 * sends its next request as soon as it has the reply (closed loop). Each connection has at most one
 * request in flight.
 */
final class NioLoad {
    /** What the load reports: each reply, each failure. Called from the client's two threads. */
    interface Sink {
        /** A reply with this status to the request due at {@code due}, sent at {@code sent}, complete at {@code done}. */
        void reply(int status, long due, long sent, long done);

        void failed(String what);

        /** Whether one more request may be sent ({@code --max-requests}). */
        boolean mayIssue();

        /** The time a send due at {@code due} is to count from, past the warm-up's backlog; {@code due} if none. */
        long leaveBacklog(long due, long interval);
    }

    private final URI base;
    private final byte[] request;
    private final Conn[] conns;
    private final long interval;
    private final long start;
    private final long end;
    private final long timeoutNanos;
    private final Sink sink;
    private final Selector selector;
    private volatile boolean stopping;
    /** The sink refused one more request: the load ends once the replies in flight are in. */
    private volatile boolean exhausted;

    /** One connection and its state, guarded by itself: the sender and the receiver both send on it. */
    private final class Conn {
        final int index;
        SocketChannel channel;
        final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        final ByteBuffer out = ByteBuffer.wrap(request);
        /** When its next request is due (open loop). */
        long next;

        boolean busy;
        long due;
        long sent;

        Conn(int index, long first) {
            this.index = index;
            this.next = first;
        }
    }

    /**
     * Connects {@code n} connections to {@code base}; {@code rate} requests/s in all (0: closed loop),
     * from {@code start} until {@code end} ({@link System#nanoTime()}).
     */
    NioLoad(
            URI base,
            String path,
            String key,
            String body,
            int n,
            int rate,
            long start,
            long end,
            long timeoutNanos,
            Sink sink)
            throws IOException {
        this.base = base;
        byte[] content = body.getBytes(StandardCharsets.UTF_8);
        String head = "POST " + path + " HTTP/1.1\r\nHost: " + base.getHost() + ":" + base.getPort() + "\r\n"
                + "Authorization: Bearer " + key + "\r\nContent-Type: application/json\r\nContent-Length: "
                + content.length + "\r\n\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        this.request = new byte[h.length + content.length];
        System.arraycopy(h, 0, request, 0, h.length);
        System.arraycopy(content, 0, request, h.length, content.length);
        this.interval = rate > 0 ? 1_000_000_000L * n / rate : 0;
        this.start = start;
        this.end = end;
        this.timeoutNanos = timeoutNanos;
        this.sink = sink;
        this.selector = Selector.open();
        this.conns = new Conn[n];
        for (int i = 0; i < n; i++) {
            conns[i] = new Conn(i, start + (rate > 0 ? 1_000_000_000L * i / rate : 0));
            connect(conns[i]);
        }
    }

    private void connect(Conn c) throws IOException {
        SocketChannel ch = SocketChannel.open(new InetSocketAddress(base.getHost(), base.getPort()));
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.configureBlocking(false);
        ch.register(selector, SelectionKey.OP_READ, c);
        c.channel = ch;
        c.in.clear();
    }

    /**
     * Runs the load until {@code end} and every reply sent before it has come (or timed out), on two
     * platform threads of its own: on a virtual thread the sender's timed waits would go through the
     * scheduler's timer thread and a carrier, two wake-ups per request instead of one.
     */
    void run() throws InterruptedException {
        Thread receiver = Thread.ofPlatform().name("load-receiver").start(this::receive);
        Thread sender = Thread.ofPlatform().name("load-sender").start(this::send);
        try {
            sender.join();
        } finally {
            stopping = true;
            selector.wakeup();
            receiver.join();
        }
    }

    private void send() {
        if (interval > 0) sendOnSchedule();
        else {
            parkUntil(start);
            for (Conn c : conns)
                synchronized (c) {
                    trySend(c, System.nanoTime());
                }
        }
        // Until the end, or until --max-requests is spent and every reply is in.
        for (long left; (left = end - System.nanoTime()) > 0 && !(exhausted && allIdle()); )
            LockSupport.parkNanos(Math.min(left, 10_000_000L));
    }

    /** Open loop: visits the connections in turn, each at the time its next request is due. */
    private void sendOnSchedule() {
        for (long j = 0; ; j++) {
            long at = start + j * interval / conns.length;
            if (at >= end || exhausted) return;
            parkUntil(at);
            Conn c = conns[(int) (j % conns.length)];
            synchronized (c) {
                long now = System.nanoTime();
                if (!c.busy && c.next <= now) trySend(c, now);
            }
        }
    }

    /** Sends {@code c}'s next request, due now (closed loop) or at {@code c.next}; the caller holds {@code c}. */
    private void trySend(Conn c, long now) {
        if (stopping || now >= end || c.channel == null || exhausted) return;
        if (!sink.mayIssue()) {
            exhausted = true;
            return;
        }
        long due = now;
        if (interval > 0) {
            c.next = sink.leaveBacklog(c.next, interval);
            if (c.next > now) return;
            due = c.next;
            c.next += interval;
        }
        c.busy = true;
        c.due = due;
        c.sent = System.nanoTime();
        c.out.clear();
        try {
            while (c.out.hasRemaining()) {
                if (c.channel.write(c.out) == 0) Thread.onSpinWait();
            }
        } catch (IOException e) {
            c.busy = false;
            sink.failed(e.getClass().getSimpleName() + ": " + e.getMessage());
            closeQuietly(c);
        }
    }

    private void receive() {
        try {
            while (true) {
                selector.select(100);
                long now = System.nanoTime();
                for (SelectionKey k : selector.selectedKeys()) {
                    Conn c = (Conn) k.attachment();
                    synchronized (c) {
                        read(c, now);
                    }
                }
                selector.selectedKeys().clear();
                if (stopping && (allIdle() || now > end + timeoutNanos)) return;
                expire(now);
            }
        } catch (IOException e) {
            sink.failed("receiver: " + e.getMessage());
        } finally {
            for (Conn c : conns) closeQuietly(c);
            try {
                selector.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    private boolean allIdle() {
        for (Conn c : conns)
            synchronized (c) {
                if (c.busy) return false;
            }
        return true;
    }

    /** Replies overdue by {@code timeoutNanos}: a failure each, and a fresh connection. */
    private void expire(long now) {
        for (Conn c : conns)
            synchronized (c) {
                if (c.busy && now - c.sent > timeoutNanos) {
                    c.busy = false;
                    sink.failed("timeout");
                    reconnect(c, now);
                }
            }
    }

    private void read(Conn c, long now) {
        int n;
        try {
            n = c.channel.read(c.in);
        } catch (IOException e) {
            n = -1;
        }
        if (n < 0) {
            if (c.busy) sink.failed("connection closed");
            c.busy = false;
            reconnect(c, now);
            return;
        }
        int status = complete(c.in);
        if (status == 0 && !c.in.hasRemaining()) status = -2;
        if (status == 0) return;
        long done = System.nanoTime();
        c.in.clear();
        if (!c.busy) {
            sink.failed("a reply with no request");
            return;
        }
        c.busy = false;
        if (status < 0) {
            sink.failed(status == -1 ? "a reply without Content-Length" : "a reply over 64 KiB");
            reconnect(c, done);
            return;
        }
        sink.reply(status, c.due, c.sent, done);
        trySend(c, done);
    }

    private void reconnect(Conn c, long now) {
        closeQuietly(c);
        if (stopping) return;
        try {
            connect(c);
            trySend(c, now);
        } catch (IOException e) {
            sink.failed("reconnect: " + e.getMessage());
        }
    }

    private static void closeQuietly(Conn c) {
        if (c.channel == null) return;
        try {
            c.channel.close();
        } catch (IOException ignored) {
            // gone either way
        }
        c.channel = null;
    }

    /**
     * The status of the whole response in {@code buf} (read from position 0 to its position), 0 while
     * it is not all there, -1 when its head has no Content-Length.
     */
    static int complete(ByteBuffer buf) {
        byte[] a = buf.array();
        int len = buf.position();
        int headEnd = -1;
        for (int i = 3; i < len; i++) {
            if (a[i] == '\n' && a[i - 1] == '\r' && a[i - 2] == '\n' && a[i - 3] == '\r') {
                headEnd = i + 1;
                break;
            }
        }
        if (headEnd < 0) return 0;
        // Parsed in place: this runs for every response, on the receiver thread, which shares the cores
        // with the server it measures.
        int status = (a[9] - '0') * 100 + (a[10] - '0') * 10 + (a[11] - '0');
        long body = -1;
        for (int i = 0; i < headEnd; i++) {
            if (a[i] != '\n' || !startsWithIgnoreCase(a, i + 1, headEnd, CONTENT_LENGTH)) continue;
            body = 0;
            for (int j = i + 1 + CONTENT_LENGTH.length; j < headEnd && a[j] != '\r'; j++)
                if (a[j] >= '0' && a[j] <= '9') body = body * 10 + (a[j] - '0');
            break;
        }
        if (body < 0) return -1;
        return len >= headEnd + body ? status : 0;
    }

    private static final byte[] CONTENT_LENGTH = "content-length:".getBytes(StandardCharsets.US_ASCII);

    private static boolean startsWithIgnoreCase(byte[] a, int from, int end, byte[] lower) {
        if (end - from < lower.length) return false;
        for (int k = 0; k < lower.length; k++) {
            int b = a[from + k];
            if (b >= 'A' && b <= 'Z') b += 'a' - 'A';
            if (b != lower[k]) return false;
        }
        return true;
    }

    private static void parkUntil(long nanoTime) {
        for (long left; (left = nanoTime - System.nanoTime()) > 0; ) LockSupport.parkNanos(left);
    }
}
