package io.countersign.mcp;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Deque;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * A blocking HTTP/1.1 client for one Streamable HTTP upstream, run on the caller's (virtual) thread.
 *
 * <p>Design notes. The gateway's added latency is the goal here: the JDK's {@code HttpClient} hands
 * every exchange between the caller, its selector thread and its executor (for the response head,
 * then for each chunk of an SSE body), and on a busy 2-core machine each hand-off waits for a core.
 * Measured against the everything server on loopback, one blocking socket exchange took 0.5-0.8 ms
 * less at p50 than {@code HttpClient} (and Helidon's WebClient sat between the two). So a request is
 * written in one flush and its response read on the thread that sent it.
 *
 * <ul>
 *   <li>Keep-alive: connections are pooled per client (one per upstream session), at most {@link
 *       #MAX_IDLE} idle. A connection idle longer than {@link #REUSE_WITHIN} is closed rather than
 *       reused, well inside common servers' keep-alive timeouts (Node's 5 s, gunicorn's 2 s), so that
 *       a request is not written to a connection the server is closing; a failed exchange is never
 *       retried, since the upstream may have run a tool call.
 *   <li>Bodies: {@code Content-Length}, {@code chunked}, or until close. A body closed before its
 *       end (an SSE stream the caller left at its response) is read to its end off the caller's
 *       path and its connection kept, or dropped if the end does not come within {@link
 *       #DRAIN_WITHIN}.
 *   <li>TLS for {@code https} URLs with the JDK's default trust and host-name verification.
 *   <li>Timeouts: connect, and each read (the request timeout).
 * </ul>
 */
final class Http1Client implements AutoCloseable {
    static final int MAX_IDLE = 4;
    static final Duration REUSE_WITHIN = Duration.ofSeconds(1);
    /** How long the rest of a body the caller stopped reading may take to come before its connection is dropped. */
    static final Duration DRAIN_WITHIN = Duration.ofSeconds(1);

    private static final long MAX_DRAIN_BYTES = 1 << 20;
    private static final int MAX_HEAD_LINE = 64 * 1024;

    private final String host;
    private final String hostHeader;
    private final int port;
    private final boolean tls;
    private final String target;
    private final int connectTimeoutMillis;
    private final int readTimeoutMillis;
    private final long reuseWithinNanos;
    private final Deque<Connection> idle = new ConcurrentLinkedDeque<>();
    private volatile boolean closed;

    Http1Client(URI url, Duration connectTimeout, Duration readTimeout) {
        this(url, connectTimeout, readTimeout, REUSE_WITHIN);
    }

    Http1Client(URI url, Duration connectTimeout, Duration readTimeout, Duration reuseWithin) {
        this.tls = "https".equalsIgnoreCase(url.getScheme());
        if (!tls && !"http".equalsIgnoreCase(url.getScheme()))
            throw new IllegalArgumentException("not an http or https URL: " + url);
        this.host = url.getHost();
        this.port = url.getPort() > 0 ? url.getPort() : tls ? 443 : 80;
        this.hostHeader = url.getPort() > 0 ? host + ":" + port : host;
        String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
        this.target = url.getRawQuery() == null ? path : path + "?" + url.getRawQuery();
        this.connectTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis());
        this.readTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, readTimeout.toMillis());
        this.reuseWithinNanos = reuseWithin.toNanos();
    }

    /** Sends a request and returns once the response head is read; its body is for the caller to read and close. */
    Response send(String method, Map<String, String> headers, byte[] body) throws IOException {
        if (closed) throw new IOException("the client is closed");
        byte[] head = head(method, headers, body);
        Connection c = take();
        try {
            c.write(head, body);
            return c.read(method);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private byte[] head(String method, Map<String, String> headers, byte[] body) throws IOException {
        StringBuilder h = new StringBuilder(256)
                .append(method)
                .append(' ')
                .append(target)
                .append(" HTTP/1.1\r\nHost: ")
                .append(hostHeader)
                .append("\r\n");
        for (Map.Entry<String, String> e : headers.entrySet()) {
            if (breaksLine(e.getKey()) || breaksLine(e.getValue()))
                throw new IOException("header " + e.getKey().strip() + " holds a line break");
            h.append(e.getKey()).append(": ").append(e.getValue()).append("\r\n");
        }
        if (body != null) h.append("Content-Length: ").append(body.length).append("\r\n");
        return h.append("\r\n").toString().getBytes(StandardCharsets.UTF_8);
    }

    private static boolean breaksLine(String s) {
        return s.indexOf('\r') >= 0 || s.indexOf('\n') >= 0;
    }

    private Connection take() throws IOException {
        long now = System.nanoTime();
        for (Connection c = idle.pollFirst(); c != null; c = idle.pollFirst()) {
            if (now - c.idleSince < reuseWithinNanos) return c;
            c.close();
        }
        return open();
    }

    private Connection open() throws IOException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port), connectTimeoutMillis);
            s.setSoTimeout(readTimeoutMillis);
            if (tls) s = secure(s);
            return new Connection(s);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private Socket secure(Socket plain) throws IOException {
        SSLSocket s =
                (SSLSocket) ((SSLSocketFactory) SSLSocketFactory.getDefault()).createSocket(plain, host, port, true);
        SSLParameters p = s.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    private void release(Connection c) {
        c.idleSince = System.nanoTime();
        if (closed || idle.size() >= MAX_IDLE) c.close();
        else idle.offerFirst(c);
    }

    @Override
    public void close() {
        closed = true;
        for (Connection c = idle.pollFirst(); c != null; c = idle.pollFirst()) c.close();
    }

    /** A response: status, headers by lower-case name, and the body stream (close it to reuse the connection). */
    static final class Response implements AutoCloseable {
        private final int status;
        private final Map<String, String> headers;
        private final Body body;

        private Response(int status, Map<String, String> headers, Body body) {
            this.status = status;
            this.headers = headers;
            this.body = body;
        }

        int status() {
            return status;
        }

        /** The first value of a header, or null. */
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        InputStream body() {
            return body;
        }

        @Override
        public void close() {
            body.close();
        }

        /** Drops the connection at once: a reader blocked on the body gets an {@link IOException}. */
        void abort() {
            body.abort();
        }
    }

    /** One socket, used by one exchange at a time. */
    private final class Connection {
        final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private long idleSince;

        Connection(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
            this.out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
        }

        void write(byte[] head, byte[] body) throws IOException {
            out.write(head);
            if (body != null) out.write(body);
            out.flush();
        }

        Response read(String method) throws IOException {
            String statusLine;
            int status;
            do { // 1xx answers (100 Continue, 103 Early Hints) precede the real one
                statusLine = line();
                status = status(statusLine);
                if (status / 100 == 1) skipHeaders();
            } while (status / 100 == 1);
            Map<String, String> headers = new HashMap<>();
            for (String h = line(); !h.isEmpty(); h = line()) {
                int colon = h.indexOf(':');
                if (colon <= 0) throw new IOException("malformed response header");
                headers.putIfAbsent(
                        h.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        h.substring(colon + 1).trim());
            }
            boolean keepAlive = statusLine.startsWith("HTTP/1.1")
                    && !"close".equalsIgnoreCase(headers.getOrDefault("connection", ""));
            return new Response(status, headers, body(method, status, headers, keepAlive));
        }

        private Body body(String method, int status, Map<String, String> headers, boolean keepAlive)
                throws IOException {
            if (method.equals("HEAD") || status == 204 || status == 304) return new Body(this, 0, keepAlive);
            if (headers.getOrDefault("transfer-encoding", "")
                    .toLowerCase(Locale.ROOT)
                    .contains("chunked")) return new Body(this, Body.CHUNKED, keepAlive);
            String length = headers.get("content-length");
            if (length == null) return new Body(this, Body.UNTIL_CLOSE, false);
            try {
                return new Body(this, Long.parseLong(length.trim()), keepAlive);
            } catch (NumberFormatException e) {
                throw new IOException("malformed Content-Length");
            }
        }

        private int status(String statusLine) throws IOException {
            if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12)
                throw new IOException("not an HTTP/1.x response");
            try {
                return Integer.parseInt(statusLine.substring(9, 12));
            } catch (NumberFormatException e) {
                throw new IOException("malformed status line");
            }
        }

        private void skipHeaders() throws IOException {
            while (!line().isEmpty()) {
                // headers of an interim answer
            }
        }

        /** A line of the head or of the chunk framing, without its CRLF. */
        String line() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream(64);
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) throw new EOFException("the upstream closed the connection");
                if (b.size() == MAX_HEAD_LINE) throw new IOException("response line too long");
                b.write(c);
            }
            int n = b.size();
            byte[] bytes = b.toByteArray();
            return new String(bytes, 0, n > 0 && bytes[n - 1] == '\r' ? n - 1 : n, StandardCharsets.ISO_8859_1);
        }

        void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    /** A response body; at its end (and closed) its connection goes back to the pool if it may. */
    private final class Body extends InputStream {
        static final long CHUNKED = -1;
        static final long UNTIL_CLOSE = -2;

        private final Connection c;
        private final boolean chunked;
        private final boolean untilClose;
        private final boolean keepAlive;
        private long left; // bytes left in the body (or in the current chunk)
        private boolean ended;
        private boolean closed;

        Body(Connection c, long length, boolean keepAlive) {
            this.c = c;
            this.chunked = length == CHUNKED;
            this.untilClose = length == UNTIL_CLOSE;
            this.keepAlive = keepAlive;
            this.left = length > 0 ? length : 0;
            this.ended = length == 0;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (closed) throw new IOException("the response body is closed");
            return readBody(b, off, len);
        }

        private int readBody(byte[] b, int off, int len) throws IOException {
            if (len == 0) return 0;
            if (ended || (chunked && left == 0 && !nextChunk())) return -1;
            if (untilClose) {
                int n = c.in.read(b, off, len);
                if (n < 0) ended = true;
                return n;
            }
            int n = c.in.read(b, off, (int) Math.min(len, left));
            if (n < 0) throw new EOFException("the upstream closed the connection mid-body");
            left -= n;
            if (left == 0 && !chunked) ended = true;
            return n;
        }

        /** Reads the next chunk's size (after the previous chunk's CRLF); false at the last chunk. */
        private boolean nextChunk() throws IOException {
            if (ended) return false;
            String size = c.line();
            if (size.isEmpty()) size = c.line(); // the CRLF that ends the previous chunk's data
            int ext = size.indexOf(';');
            try {
                left = Long.parseLong((ext < 0 ? size : size.substring(0, ext)).trim(), 16);
            } catch (NumberFormatException e) {
                throw new IOException("malformed chunk size");
            }
            if (left > 0) return true;
            while (!c.line().isEmpty()) {
                // trailers
            }
            ended = true;
            return false;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            if (ended && keepAlive) release(c);
            else if (keepAlive && !untilClose)
                Thread.ofVirtual().name("countersign-mcp-drain").start(this::drain);
            else c.close();
        }

        void abort() {
            closed = true;
            c.close();
        }

        /**
         * Reads the rest of a body the caller stopped reading, off the caller's path, and pools the
         * connection if it ends soon: an upstream's SSE stream ends just after the response the caller
         * stopped at, and dropping the connection for those last bytes would cost a new one per call.
         */
        private void drain() {
            try {
                c.socket.setSoTimeout((int) DRAIN_WITHIN.toMillis());
                byte[] sink = new byte[8192];
                long budget = MAX_DRAIN_BYTES;
                for (int n = readBody(sink, 0, sink.length); n >= 0 && budget > 0; n = readBody(sink, 0, sink.length))
                    budget -= n;
                if (!ended) throw new IOException("the stream goes on");
                c.socket.setSoTimeout(readTimeoutMillis);
                release(c);
            } catch (IOException | RuntimeException e) {
                c.close();
            }
        }
    }
}
