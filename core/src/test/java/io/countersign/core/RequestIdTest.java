package io.countersign.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RequestIdTest {
    @Test
    void encodesTimeThenRandomnessInCrockfordBase32() {
        RequestId zero = RequestId.generate(Instant.EPOCH, new FixedRandom(0));
        assertThat(zero.value()).isEqualTo("req_" + "0".repeat(26));
        RequestId ones = RequestId.generate(Instant.EPOCH, new FixedRandom(-1));
        // 80 random bits set below a zero timestamp: exactly 16 characters of Z (80 = 16 * 5).
        assertThat(ones.value()).isEqualTo("req_" + "0".repeat(10) + "Z".repeat(16));
        RequestId oneMilli = RequestId.generate(Instant.ofEpochMilli(1), new FixedRandom(0));
        // 1 << 80 in base 32 is digit 1 in position 16 from the right (80 = 16 * 5).
        assertThat(oneMilli.value()).isEqualTo("req_" + "0".repeat(9) + "1" + "0".repeat(16));
    }

    @Test
    void idsSortByCreationTime() {
        SplittableRandom random = new SplittableRandom(7);
        List<RequestId> ids = new ArrayList<>();
        for (int i = 0; i < 1000; i++)
            ids.add(RequestId.generate(Instant.ofEpochMilli(1_700_000_000_000L + i * 3L), random));
        assertThat(ids).isSorted();
    }

    @Test
    void refusesMalformedIds() {
        assertThatThrownBy(() -> RequestId.parse("req_0000000000000000000000000I"))
                .isInstanceOf(RequestId.MalformedIdException.class);
        assertThatThrownBy(() -> RequestId.parse("nope")).isInstanceOf(RequestId.MalformedIdException.class);
        String good = "req_01M7ZR1EZDYMJANPNFV1PKHEKS";
        assertThat(RequestId.parse(good).value()).isEqualTo(good);
        assertThat(RequestId.parse("req_0123456789ABCDEFGHJKMNPQRS").value()).endsWith("RS");
        assertThat(RequestId.parse("req_TVWXYZ00000000000000000000").value()).startsWith("req_TVWXYZ");
        for (String bad : List.of(
                good.toLowerCase(java.util.Locale.ROOT), // lower case
                "req_01M7ZR1EZDYMJANPNFV1PKHEKL", // L, O and U are not Crockford digits
                "req_01M7ZR1EZDYMJANPNFV1PKHEKO",
                "req_01M7ZR1EZDYMJANPNFV1PKHEKU",
                "req_01M7ZR1EZDYMJANPNFV1PKHEK\u00C9", // beyond ASCII
                "req_01M7ZR1EZDYMJANPNFV1PKHEK", // 25 characters
                "req_01M7ZR1EZDYMJANPNFV1PKHEKS0", // 27
                "reX_01M7ZR1EZDYMJANPNFV1PKHEKS",
                " req_01M7ZR1EZDYMJANPNFV1PKHEK",
                "")) {
            assertThatThrownBy(() -> RequestId.parse(bad)).as(bad).isInstanceOf(RequestId.MalformedIdException.class);
        }
        assertThatThrownBy(() -> RequestId.parse(null)).isInstanceOf(RequestId.MalformedIdException.class);
    }

    /** Every nextLong() returns the same value. */
    private record FixedRandom(long value) implements java.util.random.RandomGenerator {
        @Override
        public long nextLong() {
            return value;
        }
    }
}
