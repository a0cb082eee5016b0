package io.countersign.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.core.spi.Outbox;
import io.countersign.core.spi.Outbox.Delivery.State;
import io.countersign.core.testing.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The deliveries tables on a real SQLite file. */
class SqliteOutboxTest {
    static final Instant T0 = Instant.parse("2026-11-21T09:00:00Z");

    @TempDir
    Path dir;

    final MutableClock clock = new MutableClock(T0);
    SqliteStore store;
    Outbox outbox;

    @BeforeEach
    void open() {
        store = SqliteStore.open(
                dir.resolve("cs.db"),
                new LedgerSettings(Demo.LEDGER_KEY, List.of(), Duration.ofSeconds(1), 10_000, clock));
        outbox = store.outbox();
    }

    @AfterEach
    void close() {
        store.close();
    }

    static Outbox.Draft draft(String channel, long event) {
        return new Outbox.Draft(channel, "post", "t", null, event, "request.decided");
    }

    @Test
    void planningTheSameDeliveryTwiceStoresItOnceAndMovesTheCursorInTheSameWrite() {
        assertThat(outbox.cursor("c")).isEmpty();
        outbox.plan("c", 7, List.of(draft("slack", 7), draft("slack", 7), draft("email", 7)), T0);
        assertThat(outbox.cursor("c")).contains(7L);
        assertThat(outbox.list(null, null, 10)).hasSize(2);
    }

    @Test
    void claimsOnlyTheNamedChannelsDueDeliveriesUpToTheLimitAndLeasesThem() {
        outbox.plan("c", 3, List.of(draft("slack", 1), draft("slack", 2), draft("slack", 3), draft("email", 1)), T0);
        List<Outbox.Delivery> got = outbox.claim("slack", T0, T0.plusSeconds(300), 2);
        assertThat(got).hasSize(2).allSatisfy(d -> {
            assertThat(d.draft().channel()).isEqualTo("slack");
            assertThat(d.attempts()).isEqualTo(1);
        });
        // leased: not due again until the lease ends
        assertThat(outbox.claim("slack", T0, T0.plusSeconds(300), 10)).hasSize(1);
        assertThat(outbox.claim("slack", T0.plusSeconds(10), T0.plusSeconds(310), 10))
                .isEmpty();
        assertThat(outbox.claim("slack", T0.plusSeconds(300), T0.plusSeconds(600), 10))
                .hasSize(3);
        assertThat(outbox.claim("email", T0, T0.plusSeconds(300), 10)).hasSize(1);
    }

    @Test
    void pruningForgetsSettledDeliveriesAndOldNoncesButKeepsPendingOnes() {
        outbox.plan("c", 3, List.of(draft("slack", 1), draft("slack", 2), draft("slack", 3)), T0);
        List<Outbox.Delivery> d = outbox.claim("slack", T0, T0.plusSeconds(60), 3);
        outbox.delivered(d.get(0).id(), "C1/1.0", T0, null);
        outbox.dead(d.get(1).id(), "gone", T0);
        assertThat(outbox.useOnce("link:a", T0)).isTrue();
        assertThat(outbox.useOnce("link:b", T0.plus(Duration.ofDays(20)))).isTrue();

        int n = outbox.prune(T0.plusSeconds(1), T0.plus(Duration.ofDays(1)));

        assertThat(n).isEqualTo(3);
        assertThat(outbox.list(null, null, 10))
                .singleElement()
                .satisfies(x -> assertThat(x.state()).isEqualTo(State.PENDING));
        assertThat(outbox.useOnce("link:a", T0))
                .as("forgotten, so usable again")
                .isTrue();
        assertThat(outbox.useOnce("link:b", T0)).as("still remembered").isFalse();
    }

    @Test
    void lastIndexIsMinusOneForAnEmptyLedger() {
        assertThat(outbox.lastIndex()).isEqualTo(-1);
    }
}
