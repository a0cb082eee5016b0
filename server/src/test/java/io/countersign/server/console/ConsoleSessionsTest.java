package io.countersign.server.console;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.core.Principal;
import io.countersign.core.testing.MutableClock;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Console sessions in memory: bounded, and never at the cost of refusing a sign-in. */
class ConsoleSessionsTest {
    final MutableClock clock = new MutableClock(Instant.parse("2025-03-03T09:00:00Z"));
    final Principal dave = Principal.human("dave", Set.of("security"));

    @Test
    void aFullTablePushesOutTheOldestSessionInsteadOfRefusingASignIn() {
        Sessions sessions = new Sessions(Duration.ofHours(8), clock, new SecureRandom());
        String oldest = sessions.open(dave, null).id();
        String second = sessions.open(dave, null).id();
        for (int i = 2; i < Sessions.MAX; i++) sessions.open(dave, null);
        assertThat(sessions.size()).isEqualTo(Sessions.MAX);

        String newest = sessions.open(dave, null).id();
        assertThat(sessions.size()).isEqualTo(Sessions.MAX);
        assertThat(sessions.find(newest)).contains(dave);
        assertThat(sessions.find(oldest)).as("pushed out").isEmpty();
        assertThat(sessions.find(second)).contains(dave);
    }

    @Test
    void endedSessionsGoFirstWhenTheTableIsFull() {
        Sessions sessions = new Sessions(Duration.ofHours(8), clock, new SecureRandom(), 3);
        String shortLived =
                sessions.open(dave, clock.instant().plus(Duration.ofMinutes(5))).id();
        String a = sessions.open(dave, null).id();
        String b = sessions.open(dave, null).id();
        clock.advance(Duration.ofMinutes(5));
        String c = sessions.open(dave, null).id();
        assertThat(sessions.find(shortLived)).isEmpty();
        assertThat(sessions.find(a)).contains(dave);
        assertThat(sessions.find(b)).contains(dave);
        assertThat(sessions.find(c)).contains(dave);
    }

    @Test
    void aSessionLastsItsTtlOrUntilItsIdTokenExpiresWhicheverIsSooner() {
        Sessions sessions = new Sessions(Duration.ofHours(8), clock, new SecureRandom());
        Sessions.Opened capped = sessions.open(dave, clock.instant().plus(Duration.ofMinutes(20)));
        Sessions.Opened full = sessions.open(dave, clock.instant().plus(Duration.ofDays(2)));
        assertThat(capped.lifetime()).isEqualTo(Duration.ofMinutes(20));
        assertThat(full.lifetime()).isEqualTo(Duration.ofHours(8));
        clock.advance(Duration.ofMinutes(20));
        assertThat(sessions.find(capped.id())).isEmpty();
        assertThat(sessions.find(full.id())).contains(dave);
    }
}
