package io.countersign.ledger;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;

/**
 * C2SP signed notes: a text ending in a newline, a blank line, then signature lines {@code — name
 * base64(key id || signature)}. The signature covers the text with its final newline.
 */
public final class SignedNote {
    private static final String DASH = "\u2014 ";
    private static final int MAX_NOTE = 1 << 20;

    private SignedNote() {}

    /** Signs {@code text} (which ends in a newline) with {@code key}. */
    public static String sign(String text, SigningKey key) {
        checkText(text);
        byte[] sig = key.sign(text.getBytes(StandardCharsets.UTF_8));
        byte[] line = new byte[4 + sig.length];
        int id = key.verifierKey().keyId();
        line[0] = (byte) (id >>> 24);
        line[1] = (byte) (id >>> 16);
        line[2] = (byte) (id >>> 8);
        line[3] = (byte) id;
        System.arraycopy(sig, 0, line, 4, sig.length);
        return text + "\n" + DASH + key.name() + " " + Base64.getEncoder().encodeToString(line) + "\n";
    }

    /** Signs a checkpoint. */
    public static String sign(Checkpoint checkpoint, SigningKey key) {
        return sign(checkpoint.body(), key);
    }

    /**
     * Verifies {@code note} with {@code key} and returns its text. Lines signed by other keys are
     * ignored; the note is refused if no line is by {@code key} or if that line's signature fails.
     */
    public static String open(String note, VerifierKey key) {
        if (note.length() > MAX_NOTE) throw new VerificationException("the note is larger than 1 MiB");
        String text = unverifiedText(note);
        checkText(text);
        String[] lines = note.substring(text.length() + 1).split("\n", -1);
        if (lines.length < 2 || !lines[lines.length - 1].isEmpty())
            throw new VerificationException("a signed note ends with signature lines, each ending in a newline");
        byte[] message = text.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < lines.length - 1; i++) {
            byte[] sig = signatureBy(lines[i], key);
            if (sig == null) continue;
            if (!key.verify(message, sig))
                throw new VerificationException(
                        "the signature by " + key.name() + " does not verify: the note was changed or forged");
            return text;
        }
        throw new VerificationException("the note has no signature by " + key.name() + "+"
                + java.util.HexFormat.of().toHexDigits(key.keyId()));
    }

    /**
     * The text of a note, <em>not verified</em>: for a note this process signed itself or one it is
     * about to verify later; anything else goes through {@link #open}.
     */
    public static String unverifiedText(String note) {
        int split = note.lastIndexOf("\n\n");
        if (split < 0) throw new VerificationException("a signed note has a text, a blank line and signature lines");
        return note.substring(0, split + 1);
    }

    /** Verifies a checkpoint note and parses its text. */
    public static Checkpoint openCheckpoint(String note, VerifierKey key) {
        Checkpoint c = Checkpoint.parse(open(note, key));
        if (!c.origin().equals(key.name()))
            throw new VerificationException("the checkpoint's origin '" + Hashes.abbreviate(c.origin())
                    + "' is not the key's name '" + key.name() + "'");
        return c;
    }

    /** The signature in {@code line} if it is by {@code key}, null if it is by another key. */
    private static byte[] signatureBy(String line, VerifierKey key) {
        if (!line.startsWith(DASH))
            throw new VerificationException("a signature line starts with an em dash and a space");
        String rest = line.substring(DASH.length());
        int space = rest.indexOf(' ');
        if (space <= 0) throw new VerificationException("a signature line is: em dash, name, base64 signature");
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(rest.substring(space + 1));
        } catch (IllegalArgumentException e) {
            throw new VerificationException("a signature line's signature is not base64");
        }
        if (raw.length < 5) throw new VerificationException("a signature line's signature is too short");
        int id = ((raw[0] & 0xff) << 24) | ((raw[1] & 0xff) << 16) | ((raw[2] & 0xff) << 8) | (raw[3] & 0xff);
        if (!rest.substring(0, space).equals(key.name()) || id != key.keyId()) return null;
        return Arrays.copyOfRange(raw, 4, raw.length);
    }

    private static void checkText(String text) {
        if (text.isEmpty() || !text.endsWith("\n")) throw new VerificationException("a note's text ends in a newline");
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 && c != '\n') throw new VerificationException("a note has no control characters but newline");
        }
        if (text.contains("\n\n")) throw new VerificationException("a note's text has no blank lines");
    }
}
