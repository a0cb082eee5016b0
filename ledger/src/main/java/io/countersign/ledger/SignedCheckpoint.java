package io.countersign.ledger;

/**
 * A checkpoint with the signed note it came from.
 *
 * @param checkpoint the parsed body
 * @param note the whole signed note, exactly as signed
 */
public record SignedCheckpoint(Checkpoint checkpoint, String note) {
    public long size() {
        return checkpoint.size();
    }

    /** Signs {@code checkpoint} with {@code key}. */
    public static SignedCheckpoint sign(Checkpoint checkpoint, SigningKey key) {
        return new SignedCheckpoint(checkpoint, SignedNote.sign(checkpoint, key));
    }
}
