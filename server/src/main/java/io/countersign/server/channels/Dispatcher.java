package io.countersign.server.channels;

import io.countersign.core.Request;
import io.countersign.core.spi.Outbox;
import io.countersign.server.config.Channels;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves notifications from the ledger to the channels, off the decision path.
 *
 * <p>Design notes. The ledger is the transactional outbox: an event is durable exactly when the
 * change it records is. One fan-out thread reads the events after a durable cursor, shows each to
 * every channel, and stores the deliveries they ask for together with the cursor's new position
 * (one write per batch of events). One claim thread leases due deliveries and runs each attempt on
 * a virtual thread, at most {@link #PER_CHANNEL} at a time per channel, so that a slow or failing
 * peer holds up only its own channel. A failed attempt is retried with exponential backoff (or the
 * peer's Retry-After) until {@code channels.delivery.max_attempts}, then the delivery is dead. A
 * crash mid-attempt leaves a lease that runs out, and the delivery is tried again: delivery is at
 * least once, and channels make repeats harmless (Standard Webhooks ids, Slack updates by ts).
 *
 * <p>The first start with channels configured begins at the end of the ledger: history is not
 * replayed to a newly added channel.
 */
public final class Dispatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);
    static final String CURSOR = "channels";
    static final int PER_CHANNEL = 4;
    private static final int BATCH = 500;
    private static final Duration LEASE = Duration.ofMinutes(5);
    private static final Duration IDLE = Duration.ofMillis(200);

    private final ChannelContext ctx;
    private final Map<String, Channel> channels;
    private final Map<String, Semaphore> permits = new ConcurrentHashMap<>();
    private final Set<Long> inFlight = ConcurrentHashMap.newKeySet();
    private final DeliveryListener listener;
    private final Channels.Delivery retry;
    private final ExecutorService attempts = Executors.newVirtualThreadPerTaskExecutor();
    private final Object wake = new Object();
    private volatile boolean running = true;
    private Thread fanOut;
    private Thread claimer;
    private long cursor;

    private Dispatcher(ChannelContext ctx, List<Channel> channels, DeliveryListener listener) {
        this.ctx = ctx;
        this.channels = channels.stream().collect(Collectors.toUnmodifiableMap(Channel::name, Function.identity()));
        this.listener = listener;
        this.retry = ctx.config().channels().delivery();
        channels.forEach(c -> permits.put(c.name(), new Semaphore(PER_CHANNEL)));
    }

    /** Starts delivering to {@code channels}; with none, starts nothing. */
    public static Dispatcher start(ChannelContext ctx, List<Channel> channels, DeliveryListener listener) {
        Dispatcher d = new Dispatcher(ctx, channels, listener);
        if (!channels.isEmpty()) d.begin();
        return d;
    }

    /** The configured channels by name. */
    public Map<String, Channel> channels() {
        return channels;
    }

    private void begin() {
        Optional<Long> stored = ctx.outbox().cursor(CURSOR);
        if (stored.isPresent()) {
            cursor = stored.get();
        } else {
            List<Outbox.Sequenced> tail = lastEvent();
            cursor = tail.isEmpty() ? -1 : tail.getFirst().index();
            ctx.outbox().plan(CURSOR, cursor, List.of(), ctx.clock().instant());
            LOG.info("channels start at ledger index {}; earlier events are not sent", cursor + 1);
        }
        LOG.info("delivering to {}", channels.keySet());
        fanOut = Thread.ofPlatform().name("countersign-fanout").daemon(true).start(this::fanOutLoop);
        claimer =
                Thread.ofPlatform().name("countersign-deliveries").daemon(true).start(this::claimLoop);
    }

    /** The last event of the ledger, found by stepping through it once at first start. */
    private List<Outbox.Sequenced> lastEvent() {
        long after = -1;
        Outbox.Sequenced last = null;
        while (true) {
            List<Outbox.Sequenced> page = ctx.outbox().eventsAfter(after, BATCH);
            if (page.isEmpty()) return last == null ? List.of() : List.of(last);
            last = page.getLast();
            after = last.index();
        }
    }

    private void fanOutLoop() {
        while (running) {
            try {
                if (!planNext()) sleep(IDLE);
            } catch (RuntimeException e) {
                LOG.warn("planning deliveries failed, retrying: {}", e.getMessage());
                sleep(Duration.ofSeconds(1));
            }
        }
    }

    /** Plans one batch of events; true when there may be more right away. */
    boolean planNext() {
        List<Outbox.Sequenced> events = ctx.outbox().eventsAfter(cursor, BATCH);
        if (events.isEmpty()) return false;
        List<Outbox.Draft> drafts = new ArrayList<>();
        for (Outbox.Sequenced e : events) {
            Supplier<Optional<Request>> request = once(e);
            for (Channel c : channels.values()) {
                try {
                    drafts.addAll(c.plan(e, request));
                } catch (RuntimeException x) {
                    LOG.error("channel {} could not plan event {}: {}", c.name(), e.index(), x.toString());
                }
            }
        }
        long last = events.getLast().index();
        ctx.outbox().plan(CURSOR, last, drafts, ctx.clock().instant());
        cursor = last;
        if (!drafts.isEmpty()) nudge();
        return events.size() == BATCH;
    }

    private Supplier<Optional<Request>> once(Outbox.Sequenced e) {
        return new Supplier<>() {
            private Optional<Request> loaded;

            @Override
            public Optional<Request> get() {
                if (loaded == null)
                    loaded = e.requestId() == null
                            ? Optional.empty()
                            : ctx.store().find(e.requestId());
                return loaded;
            }
        };
    }

    private void claimLoop() {
        while (running) {
            try {
                if (!claimDue()) await(IDLE);
            } catch (RuntimeException e) {
                LOG.warn("claiming deliveries failed, retrying: {}", e.getMessage());
                sleep(Duration.ofSeconds(1));
            }
        }
    }

    /** Claims and starts due deliveries; true when it started any. */
    boolean claimDue() {
        Instant now = ctx.clock().instant();
        List<Outbox.Delivery> due = ctx.outbox().claim(now, now.plus(LEASE), 100);
        int started = 0;
        for (Outbox.Delivery d : due) {
            if (!inFlight.add(d.id())) continue; // its lease ran out while it waited its turn
            attempts.execute(() -> attempt(d));
            started++;
        }
        return started > 0;
    }

    private void attempt(Outbox.Delivery d) {
        Channel channel = channels.get(d.draft().channel());
        try {
            if (channel == null) {
                ctx.outbox().dead(d.id(), "channel " + d.draft().channel() + " is no longer configured", now());
                return;
            }
            Semaphore p = permits.get(channel.name());
            p.acquireUninterruptibly();
            long t0 = System.nanoTime();
            try {
                Channel.Delivered done = channel.deliver(d);
                ctx.outbox().delivered(d.id(), done.ref(), now(), done.event());
                listener.delivered(channel.name(), d.draft().kind(), Duration.ofNanos(System.nanoTime() - t0));
            } catch (DeliveryFailure f) {
                failed(d, f.getMessage(), f.retryable(), f.retryAfter());
            } catch (RuntimeException e) {
                LOG.warn("delivery {} to {} failed unexpectedly", d.id(), channel.name(), e);
                failed(d, "internal error: " + e.getClass().getSimpleName(), true, Duration.ZERO);
            } finally {
                p.release();
            }
        } catch (RuntimeException e) {
            LOG.error("recording delivery {} failed: {}; it will be tried again", d.id(), e.getMessage());
        } finally {
            inFlight.remove(d.id());
        }
    }

    private void failed(Outbox.Delivery d, String error, boolean retryable, Duration after) {
        String channel = d.draft().channel();
        if (!retryable || d.attempts() >= retry.maxAttempts()) {
            ctx.outbox().dead(d.id(), error, now());
            listener.failed(channel, d.draft().kind(), true);
            LOG.warn(
                    "gave up delivery {} ({} {} for {}) after {} attempt(s): {}",
                    d.id(),
                    channel,
                    d.draft().kind(),
                    d.draft().requestId(),
                    d.attempts(),
                    error);
            return;
        }
        Duration wait = retry.backoff(d.attempts());
        if (after.compareTo(wait) > 0) wait = after;
        ctx.outbox().retry(d.id(), error, now().plus(wait));
        listener.failed(channel, d.draft().kind(), false);
        LOG.info(
                "delivery {} to {} failed (attempt {}), retrying in {}: {}",
                d.id(),
                channel,
                d.attempts(),
                wait,
                error);
    }

    private Instant now() {
        return ctx.clock().instant();
    }

    /** Wakes the claim loop (new deliveries were planned). */
    void nudge() {
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    private void await(Duration d) {
        synchronized (wake) {
            try {
                wake.wait(d.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }
    }

    private void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    @Override
    public void close() {
        running = false;
        nudge();
        for (Thread t : new Thread[] {fanOut, claimer}) {
            if (t == null) continue;
            t.interrupt();
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        attempts.shutdownNow();
        try {
            attempts.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        channels.values().forEach(Channel::close);
    }

    /** Observes deliveries; bound to metrics by the server. */
    public interface DeliveryListener {
        DeliveryListener NONE = new DeliveryListener() {};

        default void delivered(String channel, String kind, Duration took) {}

        default void failed(String channel, String kind, boolean gaveUp) {}
    }
}
