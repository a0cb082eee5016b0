package io.countersign.ledger;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Verifies a whole log offline, from genesis: feed it every entry in order and it recomputes each
 * leaf hash and the root, checks the root against the signed checkpoint and against every earlier
 * checkpoint it was given (so a rollback, a truncation or a rewritten history is caught), and runs a
 * caller's check on each entry. It stops at the first failure with a message naming the index or the
 * range of indexes at fault. Memory is O(log n); one pass.
 */
public final class LogVerifier {
    /** A check of one entry's content; returns null when it is fine, else what is wrong. */
    @FunctionalInterface
    public interface EntryCheck {
        String problem(long index, byte[] entry, int offset, int length);
    }

    private final Hashes hashes = new Hashes();
    private final CompactRange tree = new CompactRange();
    private final Checkpoint checkpoint;
    private final EntryCheck check;
    private final TreeMap<Long, Checkpoint> earlier = new TreeMap<>();
    private long lastMatched;

    /** Verifies {@code checkpointNote} with {@code key} at once; throws if it does not verify. */
    public LogVerifier(VerifierKey key, String checkpointNote, EntryCheck check) {
        this.checkpoint = SignedNote.openCheckpoint(checkpointNote, key);
        this.check = check;
    }

    /** The signed checkpoint the log is verified against. */
    public Checkpoint checkpoint() {
        return checkpoint;
    }

    /**
     * Also checks the log against an earlier checkpoint, signed by {@code key} (the same log's key, or
     * the one it used before a rotation): same origin, not larger, and the same root at its size.
     */
    public Checkpoint expectEarlier(String note, VerifierKey key) {
        Checkpoint c = SignedNote.openCheckpoint(note, key);
        if (!c.origin().equals(checkpoint.origin()))
            throw new VerificationException("the earlier checkpoint is for another log: " + c.origin());
        if (c.size() > checkpoint.size())
            throw new VerificationException("the earlier checkpoint has " + c.size() + " entries and the current only "
                    + checkpoint.size() + ": the log was truncated or rolled back");
        Checkpoint other = earlier.putIfAbsent(c.size(), c);
        if (other != null && !other.equals(c))
            throw new VerificationException(
                    "two checkpoints of size " + c.size() + " have different roots: the log forked");
        if (c.size() == 0 && !Hashes.same(c.rootHash(), Hashes.emptyRoot()))
            throw new VerificationException("a checkpoint of size 0 must have the empty root");
        return c;
    }

    /** Earlier checkpoints in the log's own history, e.g. from an export: each is checked as above. */
    public void expectEarlier(List<String> notes, VerifierKey key) {
        for (String n : notes) expectEarlier(n, key);
    }

    /** How many entries have been verified. */
    public long count() {
        return tree.size();
    }

    /** Verifies the next entry, {@code entry[offset, offset + length)}. */
    public void accept(byte[] entry, int offset, int length) {
        long index = tree.size();
        if (index >= checkpoint.size())
            throw new VerificationException(
                    "entry " + index + ": beyond the checkpoint, which has " + checkpoint.size() + " entries");
        String problem = check.problem(index, entry, offset, length);
        if (problem != null) throw new VerificationException("entry " + index + ": " + problem);
        tree.append(hashes.leafHash(entry, offset, length));
        Checkpoint due = earlier.get(tree.size());
        if (due != null) compare(due, "earlier checkpoint");
    }

    public void accept(byte[] entry) {
        accept(entry, 0, entry.length);
    }

    /** Ends the log: the count and the root must match the checkpoint. Returns the checkpoint. */
    public Checkpoint finish() {
        if (tree.size() != checkpoint.size())
            throw new VerificationException("the log has " + tree.size() + " entries; the checkpoint says "
                    + checkpoint.size() + ": entries " + tree.size() + " and on are missing");
        compare(checkpoint, "checkpoint");
        return checkpoint;
    }

    private void compare(Checkpoint c, String what) {
        if (!Hashes.same(tree.root(), c.rootHash()))
            throw new VerificationException("the root of entries 0.." + (c.size() - 1) + " does not match the "
                    + what + " of size " + c.size() + ": "
                    + (lastMatched == c.size() - 1
                            ? "entry " + lastMatched
                            : "an entry from " + lastMatched + " to " + (c.size() - 1))
                    + " was changed, inserted, removed or reordered");
        lastMatched = c.size();
    }

    /** The sizes of the earlier checkpoints that will be checked, for progress reports. */
    public Map<Long, Checkpoint> earlierCheckpoints() {
        return java.util.Collections.unmodifiableMap(earlier);
    }
}
