package io.countersign.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class LogVerifierTest {
    static final SigningKey KEY = SigningKey.generate("countersign.test/log", new SecureRandom());
    static final LogVerifier.EntryCheck ANY = (i, e, o, l) -> null;

    static List<byte[]> entries(int n) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(("{\"index\":" + i + "}").getBytes(StandardCharsets.UTF_8));
        return out;
    }

    static String checkpoint(List<byte[]> entries, SigningKey key) {
        CompactRange r = new CompactRange();
        entries.forEach(e -> r.append(Hashes.leaf(e)));
        return SignedNote.sign(new Checkpoint(key.name(), entries.size(), r.root()), key);
    }

    static Checkpoint verify(List<byte[]> entries, String note, LogVerifier.EntryCheck check, String... earlier) {
        LogVerifier v = new LogVerifier(KEY.verifierKey(), note, check);
        for (String e : earlier) v.expectEarlier(e, KEY.verifierKey());
        entries.forEach(v::accept);
        return v.finish();
    }

    @Test
    void acceptsAnIntactLogAndItsHistory() {
        List<byte[]> log = entries(100);
        String old = checkpoint(log.subList(0, 37), KEY);
        assertThat(verify(log, checkpoint(log, KEY), ANY, old).size()).isEqualTo(100);
    }

    @Test
    void namesTheRangeOfAnEditedEntryBetweenCheckpoints() {
        List<byte[]> log = entries(100);
        String at40 = checkpoint(log.subList(0, 40), KEY);
        String at60 = checkpoint(log.subList(0, 60), KEY);
        String now = checkpoint(log, KEY);
        List<byte[]> edited = new ArrayList<>(log);
        edited.set(50, "{\"index\":50,\"x\":1}".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> verify(edited, now, ANY, at40, at60))
                .isInstanceOf(VerificationException.class)
                .hasMessageContaining("from 40 to 59");
    }

    @Test
    void checkpointsOneEntryApartNameTheEntryAlone() {
        List<byte[]> log = entries(10);
        String at4 = checkpoint(log.subList(0, 4), KEY);
        String at5 = checkpoint(log.subList(0, 5), KEY);
        List<byte[]> edited = new ArrayList<>(log);
        edited.set(4, "{\"index\":4,\"x\":1}".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> verify(edited, checkpoint(log, KEY), ANY, at4, at5))
                .isInstanceOf(VerificationException.class)
                .hasMessageContaining(": entry 4 was changed, inserted, removed or reordered");
    }

    @Test
    void theEntryCheckNamesTheFirstBadIndex() {
        List<byte[]> log = new ArrayList<>(entries(10));
        Collections.swap(log, 3, 4);
        LogVerifier.EntryCheck indexMatches = (i, e, o, l) ->
                new String(e, o, l, StandardCharsets.UTF_8).equals("{\"index\":" + i + "}") ? null : "not index " + i;
        assertThatThrownBy(() -> verify(log, checkpoint(entries(10), KEY), indexMatches))
                .hasMessage("entry 3: not index 3");
    }

    @Test
    void catchesTruncationAndRollback() {
        List<byte[]> log = entries(30);
        String full = checkpoint(log, KEY);
        List<byte[]> truncated = log.subList(0, 20);
        // Truncated, re-signed with another key: the auditor's key refuses it.
        SigningKey attacker = SigningKey.generate("countersign.test/log", new SecureRandom());
        assertThatThrownBy(() -> verify(truncated, checkpoint(truncated, attacker), ANY))
                .hasMessageContaining("no signature by");
        // Rolled back to an older, genuine checkpoint: the later checkpoint the auditor holds refuses it.
        assertThatThrownBy(() -> verify(truncated, checkpoint(truncated, KEY), ANY, full))
                .hasMessageContaining("truncated or rolled back");
        // Entries missing at the end of an export.
        assertThatThrownBy(() -> verify(truncated, full, ANY)).hasMessageContaining("entries 20 and on are missing");
        // An extra entry.
        List<byte[]> longer = entries(31);
        assertThatThrownBy(() -> verify(longer, full, ANY)).hasMessageContaining("entry 30: beyond the checkpoint");
    }
}
