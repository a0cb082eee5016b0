package io.countersign.server.channels;

import io.countersign.core.Request;
import io.countersign.core.spi.Outbox;
import io.countersign.core.spi.StorageException;
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
    static final Duration KEEP_SETTLED = Duration.ofDays(7);
    static final Duration KEEP_NONCES = Duration.ofDays(31);

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
    private Instant nextPrune;

    private Dispatcher(ChannelContext ctx, List<Channel> channels, DeliveryListener listener) {
        this.ctx = ctx;
        this.channels = channels.stream().collect(Collectors.toUnmodifiableMap(Channel::name, Function.identity()));
        this.listener = listener;
        this.retry = ctx.config().channels().delivery();
        channels.forEach(c -> permits.put(c.name(), new Semaphore(PER_CHANNEL)));
    }

    /**
     * A dispatcher for {@code channels}, its cursor set (at the ledger's end on the first start with
     * channels) but not yet delivering: call this before the server takes requests, so that none is
     * mistaken for history, and {@link #start} once it listens. With no channels it does nothing.
     */
    public static Dispatcher prepare(ChannelContext ctx, List<Channel> channels, DeliveryListener listener) {
        Dispatcher d = new Dispatcher(ctx, channels, listener);
        if (!channels.isEmpty()) d.initCursor();
        return d;
    }

    /** Starts planning and delivering. */
    public Dispatcher start() {
        if (channels.isEmpty()) return this;
        LOG.info("delivering to {}", channels.keySet());
        fanOut = Thread.ofPlatform().name("countersign-fanout").daemon(true).start(this::fanOutLoop);
        claimer =
                Thread.ofPlatform().name("countersign-deliveries").daemon(true).start(this::claimLoop);
        return this;
    }

    /** The configured channels by name. */
    public Map<String, Channel> channels() {
        return channels;
    }

    private void initCursor() {
        giveUpOnRemovedChannels();
        Optional<Long> stored = ctx.outbox().cursor(CURSOR);
        if (stored.isPresent()) {
            cursor = stored.get();
            return;
        }
        cursor = ctx.outbox().lastIndex();
        ctx.outbox().plan(CURSOR, cursor, List.of(), ctx.clock().instant());
        LOG.info("channels start at ledger index {}; earlier events are not sent", cursor + 1);
    }

    private void fanOutLoop() {
        while (running) {
            try {
                pruneIfDue();
                if (!planNext()) sleep(IDLE);
            } catch (RuntimeException e) {
                if (!running) return; // stopping: the store's readers were interrupted with this thread
                LOG.warn("planning deliveries failed, retrying: {}", e.getMessage());
                sleep(Duration.ofSeconds(1));
            }
        }
    }

    /** Deliveries left pending for a channel the config no longer has would wait forever. */
    private void giveUpOnRemovedChannels() {
        for (Outbox.Delivery d : ctx.outbox().list(Outbox.Delivery.State.PENDING, null, 1000)) {
            if (!channels.containsKey(d.draft().channel()))
                ctx.outbox().dead(d.id(), "channel " + d.draft().channel() + " is no longer configured", now());
        }
    }

    /**
     * Once an hour, forgets deliveries settled more than {@link #KEEP_SETTLED} ago and nonces used
     * more than {@link #KEEP_NONCES} ago (longer than any link or interaction they guard can live:
     * pending requests expire within 30 days).
     */
    private void pruneIfDue() {
        Instant now = now();
        if (nextPrune != null && now.isBefore(nextPrune)) return;
        nextPrune = now.plus(Duration.ofHours(1));
        int n = ctx.outbox().prune(now.minus(KEEP_SETTLED), now.minus(KEEP_NONCES));
        if (n > 0) LOG.info("pruned {} settled deliveries and used nonces", n);
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
                } catch (StorageException x) {
                    throw x; // the batch is planned again from the same cursor: nothing is skipped
                } catch (RuntimeException x) {
                    // A channel that cannot plan an event would fail the same way every time.
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

    /**
     * Claims as many due deliveries of each channel as it has free slots, and starts them; true when
     * it started any. Nothing is claimed that cannot start at once, so no lease runs out in a queue.
     */
    boolean claimDue() {
        Instant now = ctx.clock().instant();
        int started = 0;
        for (Channel channel : channels.values()) {
            Semaphore p = permits.get(channel.name());
            int free = p.availablePermits();
            if (free == 0) continue;
            for (Outbox.Delivery d : ctx.outbox().claim(channel.name(), now, now.plus(LEASE), free)) {
                if (!inFlight.add(d.id())) continue; // a lease ran out during a very slow attempt
                p.acquireUninterruptibly(); // free for certain: only this thread takes permits
                attempts.execute(() -> attempt(channel, p, d));
                started++;
            }
        }
        return started > 0;
    }

    private void attempt(Channel channel, Semaphore p, Outbox.Delivery d) {
        try {
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
