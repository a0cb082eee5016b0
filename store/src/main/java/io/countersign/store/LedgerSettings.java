package io.countersign.store;

import io.countersign.ledger.SigningKey;
import io.countersign.ledger.VerifierKey;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How the store keeps its ledger.
 *
 * @param key signs checkpoints; its name is the log's origin
 * @param formerKeys keys that signed this log's checkpoints before a rotation (trusted when checking
 *     the stored tree at start)
 * @param checkpointInterval the longest an appended entry waits for a signed checkpoint; default 1s
 * @param checkpointMaxEntries sign sooner once this many entries wait; default 10,000
 * @param clock when checkpoints are due and signed
 */
public record LedgerSettings(
        SigningKey key,
        List<VerifierKey> formerKeys,
        Duration checkpointInterval,
        int checkpointMaxEntries,
        Clock clock) {
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
    public static final int DEFAULT_MAX_ENTRIES = 10_000;

    public LedgerSettings {
        Objects.requireNonNull(key, "key");
        formerKeys = List.copyOf(formerKeys);
        if (checkpointInterval.isNegative() || checkpointInterval.isZero())
            throw new IllegalArgumentException("ledger.checkpoint_interval must be positive: " + checkpointInterval);
        if (checkpointMaxEntries < 1)
            throw new IllegalArgumentException(
                    "ledger.checkpoint_max_entries must be at least 1: " + checkpointMaxEntries);
    }

    /** The defaults, with {@code key}. */
    public static LedgerSettings of(SigningKey key) {
        return new LedgerSettings(key, List.of(), DEFAULT_INTERVAL, DEFAULT_MAX_ENTRIES, Clock.systemUTC());
    }
}
