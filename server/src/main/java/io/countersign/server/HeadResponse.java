package io.countersign.server;

import io.helidon.common.uri.UriQuery;
import io.helidon.http.Header;
import io.helidon.http.Method;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.ServerResponseTrailers;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.OutputStream;
import java.util.function.UnaryOperator;

/**
 * The response to HEAD: what a GET handler writes, with its content counted for {@code
 * Content-Length} but not sent (RFC 9110 §9.3.2). Content sent anyway would be read as the start of
 * the next response on the connection.
 */
final class HeadResponse implements ServerResponse {
    private final ServerResponse res;

    private HeadResponse(ServerResponse res) {
        this.res = res;
    }

    /** {@code res}, without content if {@code req} is HEAD. */
    static ServerResponse of(ServerRequest req, ServerResponse res) {
        return req.prologue().method() == Method.HEAD && !(res instanceof HeadResponse) ? new HeadResponse(res) : res;
    }

    @Override
    public void send(byte[] content) {
        res.contentLength(content.length); // Helidon keeps a length that is set: that of GET's content
        res.send();
    }

    @Override
    public void send(Object entity) {
        if (!(entity instanceof byte[] content))
            throw new UnsupportedOperationException("a response to HEAD is sent as bytes; got " + entity.getClass());
        send(content);
    }

    @Override
    public void send() {
        res.send();
    }

    /** Counts what is written, and sends the head when closed. */
    @Override
    public OutputStream outputStream() {
        return new OutputStream() {
            private long written;
            private boolean closed;

            @Override
            public void write(int b) {
                written++;
            }

            @Override
            public void write(byte[] b, int off, int len) {
                written += len;
            }

            @Override
            public void close() {
                if (closed) return;
                closed = true;
                res.contentLength(written);
                res.send();
            }
        };
    }

    @Override
    public ServerResponse status(Status status) {
        res.status(status);
        return this;
    }

    @Override
    public Status status() {
        return res.status();
    }

    @Override
    public ServerResponse header(Header header) {
        res.header(header);
        return this;
    }

    @Override
    public boolean isSent() {
        return res.isSent();
    }

    @Override
    public long bytesWritten() {
        return res.bytesWritten();
    }

    @Override
    public ServerResponse beforeSend(Runnable runnable) {
        res.beforeSend(runnable);
        return this;
    }

    @Override
    public ServerResponse whenSent(Runnable runnable) {
        res.whenSent(runnable);
        return this;
    }

    @Override
    public ServerResponse reroute(String newPath) {
        res.reroute(newPath);
        return this;
    }

    @Override
    public ServerResponse reroute(String path, UriQuery query) {
        res.reroute(path, query);
        return this;
    }

    @Override
    public ServerResponse next() {
        res.next();
        return this;
    }

    @Override
    public ServerResponseHeaders headers() {
        return res.headers();
    }

    @Override
    public ServerResponseTrailers trailers() {
        return res.trailers();
    }

    @Override
    public void streamResult(String result) {
        res.streamResult(result);
    }

    @Override
    public void streamFilter(UnaryOperator<OutputStream> filterFunction) {
        res.streamFilter(filterFunction);
    }
}
