package io.countersign.server;

import io.helidon.http.HttpPrologue;
import io.helidon.http.Method;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRoute;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The server's routes, kept as they are registered so that a request no route took can be told
 * apart: on a path that some route serves with other methods it gets 405 with those methods in
 * {@code Allow} (RFC 9110 §15.5.6), on any other path 404. Each route is asked, with Helidon's own
 * matching, whether it would take the request under each standard method in turn, so a path counts
 * as served exactly when routing would serve it; a route registered for any method serves every
 * method. Only the 404 and 405 answers ask, never a routed request.
 *
 * <p>A route registered with {@link #get(String, Handler...)} serves HEAD too, as RFC 9110 §9.3.2
 * asks: its handler answers with GET's status and headers, and its content is not sent ({@link
 * HeadResponse}).
 */
final class KnownRoutes implements HttpRules {
    /** The methods tried, in the order {@code Allow} lists them. */
    private static final List<Method> METHODS = List.of(
            Method.GET,
            Method.HEAD,
            Method.POST,
            Method.PUT,
            Method.PATCH,
            Method.DELETE,
            Method.OPTIONS,
            Method.TRACE);

    private final HttpRules rules;
    private final List<HttpRoute> routes = new CopyOnWriteArrayList<>();

    KnownRoutes(HttpRules rules) {
        this.rules = rules;
    }

    @Override
    public KnownRoutes route(HttpRoute route) {
        routes.add(route);
        rules.route(route);
        return this;
    }

    @Override
    public KnownRoutes get(String pathPattern, Handler... handlers) {
        for (Handler h : handlers) {
            route(Method.GET, pathPattern, h);
            route(Method.HEAD, pathPattern, (req, res) -> h.handle(req, HeadResponse.of(req, res)));
        }
        return this;
    }

    /** A service's routes would not be known here; register them one by one. */
    @Override
    public HttpRules register(HttpService... services) {
        throw new UnsupportedOperationException("register routes, not services: their methods would not be known");
    }

    @Override
    public HttpRules register(String pathPattern, HttpService... services) {
        throw new UnsupportedOperationException("register routes, not services: their methods would not be known");
    }

    /** The methods some route serves on {@code request}'s path, in {@code Allow}'s order; empty if none does. */
    List<Method> allowed(HttpPrologue request) {
        return METHODS.stream().filter(m -> serves(as(request, m))).toList();
    }

    private boolean serves(HttpPrologue request) {
        return routes.stream().anyMatch(r -> r.accepts(request).accepted());
    }

    private static HttpPrologue as(HttpPrologue p, Method method) {
        return HttpPrologue.create(
                p.rawProtocol(), p.protocol(), p.protocolVersion(), method, p.uriPath(), p.query(), p.fragment());
    }
}
