package io.countersign.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A minimal HTTP/1.1 keep-alive client for the load generator: one socket, one pre-encoded
 * request written again and again, the response's status read and its body skipped. Used from a
 * worker per connection (--client raw), it cost 76 us of the client's CPU per request at 5,000/s,
 * most of it the worker's parks and wake-ups; {@link NioLoad} costs less (the JDK's HttpClient costs
 * about 0.4 ms of CPU per request).
 */
final class RawHttp implements AutoCloseable {
    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;
    private final byte[] request;

    RawHttp(URI base, String path, String key, String body) throws IOException {
        socket = new Socket(base.getHost(), base.getPort());
        socket.setTcpNoDelay(true);
        out = socket.getOutputStream();
        in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
        byte[] content = body.getBytes(StandardCharsets.UTF_8);
        String head = "POST " + path + " HTTP/1.1\r\nHost: " + base.getHost() + ":" + base.getPort() + "\r\n"
                + "Authorization: Bearer " + key + "\r\nContent-Type: application/json\r\nContent-Length: "
                + content.length + "\r\n\r\n";
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(head.getBytes(StandardCharsets.US_ASCII));
        all.writeBytes(content);
        request = all.toByteArray();
    }

    /** Sends the request and returns the response's status code, having read the whole response. */
    int send() throws IOException {
        out.write(request);
        out.flush();
        String status = line();
        int code = Integer.parseInt(status.substring(9, 12));
        long length = -1;
        boolean chunked = false;
        for (String h = line(); !h.isEmpty(); h = line()) {
            String lower = h.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:"))
                length = Long.parseLong(lower.substring(15).strip());
            if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) chunked = true;
        }
        if (chunked) skipChunks();
        else if (length > 0) skip(length);
        return code;
    }

    private void skipChunks() throws IOException {
        for (long size = Long.parseLong(line().split(";")[0].strip(), 16);
                size > 0;
                size = Long.parseLong(line().split(";")[0].strip(), 16)) {
            skip(size);
            line();
        }
        line();
    }

    private void skip(long n) throws IOException {
        while (n > 0) {
            long k = in.skip(n);
            if (k <= 0) {
                if (in.read() < 0) throw new EOFException("connection closed mid-body");
                k = 1;
            }
            n -= k;
        }
    }

    private String line() throws IOException {
        StringBuilder s = new StringBuilder(64);
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) throw new EOFException("connection closed");
            if (c != '\r') s.append((char) c);
        }
        return s.toString();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
