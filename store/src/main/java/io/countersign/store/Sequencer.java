package io.countersign.store;

import io.countersign.core.LedgerEvent;
import io.countersign.ledger.Checkpoint;
import io.countersign.ledger.CompactRange;
import io.countersign.ledger.Hashes;
import io.countersign.ledger.SignedCheckpoint;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The ledger's single sequencer; lives on the writer thread.
 *
 * <p>Design notes. Every event appended inside a batch takes the next leaf index at once (its leaf
 * bytes carry the index) and waits in {@link #batch} as a {@link Leaf}: its row and its leaf hash.
 * A work rolled back to its savepoint gives its indexes back ({@link #rollbackTo}), and with them
 * its rows, which is why the rows are not inserted while the work runs. Before the batch commits,
 * {@link #integrate} inserts the batch's rows in a few multi-row statements, folds their hashes into
 * a copy of the tree, writing each subtree the moment it is complete, and signs a checkpoint if one
 * is due, all in the batch's transaction: an acknowledged event is therefore always in the stored
 * tree, and a failed commit leaves the committed tree as it was ({@link #abandon}). Checkpoints are
 * signed per batch at most, when {@code checkpointInterval} has passed or {@code
 * checkpointMaxEntries} wait, never per entry. Readers see {@link #size()} and {@link #latest()}
 * only once committed.
 */
final class Sequencer {
    private final LedgerSettings settings;
    private final Hashes hashes = new Hashes();
    private final List<Leaf> batch = new ArrayList<>();
    private CompactRange tree;
    private CompactRange next;
    private SignedCheckpoint signing;
    private boolean checkpointWanted;
    private volatile long size;
    private volatile SignedCheckpoint latest;
    private Instant lastSigned;
    private final boolean frozen;

    /** With {@code frozen}, the ledger failed its check: nothing is ever signed over it. */
    Sequencer(LedgerSettings settings, CompactRange tree, SignedCheckpoint latest, boolean frozen) {
        this.settings = settings;
        this.frozen = frozen;
        this.tree = tree;
        this.size = tree.size();
        this.latest = latest;
        this.lastSigned = settings.clock().instant();
    }

    /** Committed leaves. */
    long size() {
        return size;
    }

    /** The last committed checkpoint, or null before the first. */
    SignedCheckpoint latest() {
        return latest;
    }

    /** The index the next appended event takes. */
    long nextIndex() {
        return tree.size() + batch.size();
    }

    /**
     * One appended event, waiting for its batch to commit.
     *
     * @param index its leaf index
     * @param event the event, for the columns beside the leaf
     * @param body the leaf as stored: the event's canonical JSON with its index
     * @param hash the leaf hash of {@code body}'s UTF-8 bytes
     */
    record Leaf(long index, LedgerEvent event, String body, byte[] hash) {}

    /** Takes {@code event}, whose leaf {@code body} carries {@link #nextIndex()}, into the batch. */
    void appended(LedgerEvent event, String body) {
        long index = nextIndex();
        batch.add(new Leaf(index, event, body, hashes.leafHash(body.getBytes(StandardCharsets.UTF_8))));
    }

    int mark() {
        return batch.size();
    }

    void rollbackTo(int mark) {
        batch.subList(mark, batch.size()).clear();
    }

    void wantCheckpoint() {
        checkpointWanted = true;
    }

    /** Whether the writer, idle, should run an empty batch to sign waiting entries. */
    boolean checkpointOverdue() {
        if (frozen) return false;
        long waiting = tree.size() - (latest == null ? 0 : latest.size());
        return waiting > 0 && !settings.clock().instant().isBefore(lastSigned.plus(settings.checkpointInterval()));
    }

    /** Folds the batch's leaves into the tree and signs a checkpoint if due, inside the open transaction. */
    void integrate(SqlTx tx) {
        if (frozen) throw new LedgerIntegrityException("the ledger is frozen");
        tx.insertLeaves(batch);
        next = tree.copy();
        for (Leaf leaf : batch) next.append(leaf.hash(), tx::insertNode);
        tx.flushNodes();
        signing = null;
        long signedSize = latest == null ? 0 : latest.size();
        long waiting = next.size() - signedSize;
        Instant now = settings.clock().instant();
        boolean due = checkpointWanted
                || waiting >= settings.checkpointMaxEntries()
                || !now.isBefore(lastSigned.plus(settings.checkpointInterval()));
        if (waiting > 0 && due) {
            Checkpoint c = new Checkpoint(settings.key().name(), next.size(), next.root());
            signing = SignedCheckpoint.sign(c, settings.key());
            tx.insertCheckpoint(signing, settings.key().verifierKey().toString(), now);
        }
    }

    /** The transaction committed: the new tree and checkpoint are now what readers see. */
    SignedCheckpoint committed() {
        if (next != null) tree = next;
        size = tree.size();
        SignedCheckpoint made = signing;
        if (made != null) {
            latest = made;
            lastSigned = settings.clock().instant();
        }
        reset();
        return made;
    }

    /** The transaction failed: nothing of the batch is kept. */
    void abandon() {
        reset();
    }

    private void reset() {
        checkpointWanted = false;
        batch.clear();
        next = null;
        signing = null;
    }
}
