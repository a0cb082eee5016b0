package io.countersign.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.cli.ExportVerification;
import io.countersign.core.LedgerEvent;
import io.countersign.ledger.Checkpoint;
import io.countersign.ledger.SignedNote;
import io.countersign.ledger.VerifierKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LedgerBenchesTest {
    @TempDir
    Path cache;

    @Test
    void aSubmissionIsSubmittedThenDecidedThenGranted() {
        List<LedgerEvent> events = new SubmissionEvents(1).next(SubmissionEvents.PER_SUBMISSION);
        assertThat(events)
                .extracting(LedgerEvent::type)
                .containsExactly("request.submitted", "request.decided", "grant.issued");
        assertThat(events)
                .extracting(LedgerEvent::requestId)
                .containsOnly(events.getFirst().requestId());
    }

    @Test
    void submittedLeavesAreAsLargeAsRealOnes() {
        // A real request.submitted leaf for the example's smallest request is 551 bytes.
        SubmissionEvents source = new SubmissionEvents(2);
        for (long i = 1_000_000; i < 1_000_100; i++) {
            String leaf = SubmissionEvents.leaf(source.next(1).getFirst(), i);
            assertThat(leaf.getBytes(StandardCharsets.UTF_8).length).isBetween(540, 650);
        }
    }

    @Test
    void aGeneratedExportPassesTheOfflineVerifier() throws Exception {
        for (LedgerVerifyTime.Events events : LedgerVerifyTime.Events.values()) {
            Path dir = LedgerVerifyTime.export(cache, 1_000, events);
            VerifierKey key = VerifierKey.parse(Files.readString(dir.resolve(ExportVerification.KEY)));
            Checkpoint signed =
                    SignedNote.openCheckpoint(Files.readString(dir.resolve(ExportVerification.CHECKPOINT)), key);

            assertThat(ExportVerification.verify(dir, key, null, null, n -> {})).isEqualTo(signed);
            assertThat(signed.size()).isEqualTo(1_000);
        }
    }
}
