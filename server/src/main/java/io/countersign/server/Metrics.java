package io.countersign.server;

import io.countersign.core.Decision;
import io.countersign.core.Refusal;
import io.countersign.core.Request;
import io.countersign.core.RequestListener;
import io.countersign.core.RequestService;
import io.countersign.core.RequestState;
import io.countersign.core.spi.Outbox;
import io.countersign.server.channels.Dispatcher;
import io.countersign.store.SqliteStore;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Binds the request service's events, the store's commits and HTTP traffic to Prometheus metrics. */
final class Metrics implements RequestListener, Dispatcher.DeliveryListener {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Timer decisions;

    Metrics(SqliteStore store) {
        decisions = Timer.builder("countersign.policy.decision")
                .description("policy evaluation time")
                .publishPercentiles(0.5, 0.99)
                .register(registry);
        FunctionCounter.builder(
                        "countersign.store.writes", store, s -> s.writeStats().works())
                .description("writes committed")
                .register(registry);
        FunctionCounter.builder(
                        "countersign.store.commits", store, s -> s.writeStats().commits())
                .description("transactions committed (writes are group-committed)")
                .register(registry);
    }

    void bindWaiting(RequestService service) {
        Gauge.builder("countersign.requests.waiting", service, RequestService::waiting)
                .description("clients blocked in ?wait=")
                .register(registry);
    }

    /** Deliveries waiting, delivered and given up, per channel (read from the store at each scrape). */
    void bindDeliveries(Outbox outbox) {
        this.deliveries = io.micrometer.core.instrument.MultiGauge.builder("countersign.deliveries")
                .description("deliveries to channels, by channel and state")
                .register(registry);
        this.outbox = outbox;
    }

    private volatile io.micrometer.core.instrument.MultiGauge deliveries;
    private volatile Outbox outbox;
    private static final java.time.Duration DELIVERY_COUNTS_EVERY = java.time.Duration.ofSeconds(15);
    private volatile long countedAt;

    /**
     * Counting deliveries reads their table; /metrics is open to anyone, so the count is taken at
     * most once per {@link #DELIVERY_COUNTS_EVERY} however often it is scraped.
     */
    private void refreshDeliveries() {
        if (outbox == null) return;
        long now = System.nanoTime();
        if (countedAt != 0 && now - countedAt < DELIVERY_COUNTS_EVERY.toNanos()) return;
        countedAt = now;
        java.util.List<io.micrometer.core.instrument.MultiGauge.Row<?>> rows = new java.util.ArrayList<>();
        outbox.counts().forEach((channel, byState) -> {
            for (Outbox.Delivery.State state : Outbox.Delivery.State.values()) {
                long n = byState.getOrDefault(state, 0L);
                rows.add(io.micrometer.core.instrument.MultiGauge.Row.of(
                        io.micrometer.core.instrument.Tags.of("channel", channel, "state", state.wire()), n));
            }
        });
        deliveries.register(rows, true);
    }

    @Override
    public void delivered(String channel, String kind, java.time.Duration took) {
        Timer.builder("countersign.delivery.attempts")
                .description("successful delivery attempts")
                .tag("channel", channel)
                .tag("kind", kind)
                .register(registry)
                .record(took);
    }

    @Override
    public void failed(String channel, String kind, boolean gaveUp) {
        Counter.builder("countersign.delivery.failures")
                .description("failed delivery attempts")
                .tag("channel", channel)
                .tag("kind", kind)
                .tag("gave_up", String.valueOf(gaveUp))
                .register(registry)
                .increment();
    }

    @Override
    public void submitted(Request request, long decisionNanos) {
        decisions.record(decisionNanos, TimeUnit.NANOSECONDS);
        String outcome = switch (request.decision()) {
            case Decision.Allow a -> "allow";
            case Decision.Deny d -> "deny";
            case Decision.RequireApproval r -> "require_approval";
        };
        Counter.builder("countersign.requests.submitted")
                .tag("decision", outcome)
                .register(registry)
                .increment();
    }

    @Override
    public void transitioned(Request request, RequestState from) {
        Counter.builder("countersign.requests.transitions")
                .tag("to", request.state().wire())
                .register(registry)
                .increment();
    }

    @Override
    public void refused(Refusal refusal) {
        Counter.builder("countersign.refusals")
                .tag("refusal", refusal.slug())
                .register(registry)
                .increment();
    }

    void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        long t0 = System.nanoTime();
        try {
            chain.proceed();
        } finally {
            Timer.builder("countersign.http.requests")
                    .tag("method", req.prologue().method().text())
                    .tag("status", String.valueOf(res.status().code()))
                    .register(registry)
                    .record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        }
    }

    byte[] scrape() {
        try {
            refreshDeliveries();
        } catch (RuntimeException e) {
            // a store that does not answer shows in /readyz; the other metrics still scrape
        }
        return registry.scrape().getBytes(StandardCharsets.UTF_8);
    }
}
