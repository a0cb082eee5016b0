package io.countersign.mcp;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP/1.1 peer on loopback that answers each request with the next scripted answer and
 * records what it was sent (MockWebServer's idea, as small as these tests need). An answer is the raw
 * bytes to write; {@link #HANG} keeps the connection open without answering, {@link #CLOSE} closes it.
 */
final class ScriptedHttpServer implements AutoCloseable {
    static final byte[] HANG = new byte[0];
    static final byte[] CLOSE = new byte[0];

    /** One request as received. */
    record Received(String method, String target, Map<String, String> headers, String body, int connection) {}

    private final ServerSocket socket;
    private final BlockingQueue<byte[]> answers = new LinkedBlockingQueue<>();
    private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();

    ScriptedHttpServer() throws IOException {
        socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(this::accept);
    }

    URI url(String path) {
        return URI.create("http://127.0.0.1:" + socket.getLocalPort() + path);
    }

    void enqueue(byte[] answer) {
        answers.add(answer);
    }

    /** A complete answer with a Content-Length body. */
    static byte[] answer(int status, String contentType, String body, String... headers) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder("HTTP/1.1 " + status + " X\r\n");
        if (contentType != null) h.append("Content-Type: ").append(contentType).append("\r\n");
        for (String x : headers) h.append(x).append("\r\n");
        h.append("Content-Length: ").append(b.length).append("\r\n\r\n").append(body);
        return h.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** An answer whose body is sent in the given chunks; {@code end} false leaves the stream open. */
    static byte[] chunked(int status, String contentType, boolean end, String... chunks) {
        StringBuilder h = new StringBuilder(
                "HTTP/1.1 " + status + " X\r\nContent-Type: " + contentType + "\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (String c : chunks) {
            int n = c.getBytes(StandardCharsets.UTF_8).length;
            h.append(Integer.toHexString(n)).append("\r\n").append(c).append("\r\n");
        }
        if (end) h.append("0\r\n\r\n");
        return h.toString().getBytes(StandardCharsets.UTF_8);
    }

    Received takeRequest() throws InterruptedException {
        Received r = received.poll(10, TimeUnit.SECONDS);
        if (r == null) throw new AssertionError("no request reached the scripted server");
        return r;
    }

    int connections() {
        return connections.get();
    }

    private void accept() {
        while (!socket.isClosed()) {
            try {
                Socket s = socket.accept();
                open.add(s);
                int n = connections.incrementAndGet();
                Thread.ofVirtual().start(() -> serve(s, n));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s, int connection) {
        try (s) {
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            while (true) {
                Received r = read(in, connection);
                if (r == null) return;
                received.add(r);
                byte[] answer = answers.poll(10, TimeUnit.SECONDS);
                if (answer == null || answer == CLOSE) return;
                if (answer == HANG) {
                    in.transferTo(OutputStream.nullOutputStream()); // until the client goes
                    return;
                }
                out.write(answer);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // the client went, or the server is closing
        }
    }

    private static Received read(InputStream in, int connection) throws IOException {
        String requestLine = line(in);
        if (requestLine == null) return null;
        Map<String, String> headers = new LinkedHashMap<>();
        for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
            int colon = h.indexOf(':');
            headers.put(
                    h.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                    h.substring(colon + 1).trim());
        }
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
        String[] parts = requestLine.split(" ");
        return new Received(parts[0], parts[1], headers, body, connection);
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) return null;
            if (c != '\r') b.write(c);
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        socket.close();
        for (Socket s : new ArrayList<>(open)) s.close();
    }
}
