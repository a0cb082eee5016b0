package io.countersign.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class SignedNoteTest {
    // The example of Go's golang.org/x/mod/sumdb/note, which the C2SP signed-note spec grew from.
    static final String GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    static final String GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    static final String GO_TEXT = "If you think cryptography is the answer to your problem,\n"
            + "then you don't know what your problem is.\n";
    static final String GO_NOTE = GO_TEXT + "\n"
            + "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    @Test
    void signsExactlyAsGosNotePackageDoes() {
        SigningKey key = SigningKey.parse(GO_SKEY);
        assertThat(key.verifierKey()).hasToString(GO_VKEY);
        assertThat(key.encode()).isEqualTo(GO_SKEY);
        assertThat(SignedNote.sign(GO_TEXT, key)).isEqualTo(GO_NOTE);
    }

    @Test
    void opensGosExampleNote() {
        assertThat(SignedNote.open(GO_NOTE, VerifierKey.parse(GO_VKEY))).isEqualTo(GO_TEXT);
    }

    @Test
    void refusesAChangedText() {
        String changed = GO_NOTE.replace("cryptography", "cryptographY");
        assertThatThrownBy(() -> SignedNote.open(changed, VerifierKey.parse(GO_VKEY)))
                .isInstanceOf(VerificationException.class)
                .hasMessageContaining("does not verify");
    }

    @Test
    void refusesANoteSignedByAnotherKeyOfTheSameName() {
        SigningKey other = SigningKey.generate("PeterNeumann", new SecureRandom());
        String forged = SignedNote.sign(GO_TEXT, other);
        assertThatThrownBy(() -> SignedNote.open(forged, VerifierKey.parse(GO_VKEY)))
                .isInstanceOf(VerificationException.class)
                .hasMessageContaining("no signature by PeterNeumann+c74f20a3");
    }

    @Test
    void refusesAReplacedSignature() {
        SigningKey key = SigningKey.parse(GO_SKEY);
        String other = SignedNote.sign("another text\n", key);
        String sigLine = other.substring(other.indexOf('\u2014'));
        String spliced = GO_TEXT + "\n" + sigLine;
        assertThatThrownBy(() -> SignedNote.open(spliced, key.verifierKey()))
                .isInstanceOf(VerificationException.class)
                .hasMessageContaining("does not verify");
    }

    @Test
    void ignoresSignaturesByUnknownKeys() {
        SigningKey witness = SigningKey.generate("witness.example", new SecureRandom());
        String cosigned = SignedNote.sign(GO_TEXT, witness)
                .replace("\n\n", "\n\n" + GO_NOTE.substring(GO_NOTE.indexOf('\u2014')));
        assertThat(SignedNote.open(cosigned, VerifierKey.parse(GO_VKEY))).isEqualTo(GO_TEXT);
    }

    @Test
    void refusesMalformedKeysAndNotes() {
        assertThatThrownBy(
                        () -> VerifierKey.parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"))
                .hasMessageContaining("hash does not match");
        assertThatThrownBy(() -> VerifierKey.parse("just-a-name")).hasMessageContaining("name+hash+base64");
        assertThatThrownBy(() -> SignedNote.open("no blank line\n", VerifierKey.parse(GO_VKEY)))
                .isInstanceOf(VerificationException.class);
        assertThatThrownBy(() -> SignedNote.open("a\u0007b\n\n\u2014 x AAAA\n", VerifierKey.parse(GO_VKEY)))
                .hasMessageContaining("control characters");
        assertThatThrownBy(() -> SigningKey.generate("has space", new SecureRandom()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theSigningKeyNeverShowsItsSecret() {
        SigningKey key = SigningKey.parse(GO_SKEY);
        assertThat(key.toString()).doesNotContain("AYEKFALVFGyNhPJEMzD1QIDr").contains(GO_VKEY);
    }

    @Test
    void checkpointsRoundTripAndBindTheOrigin() {
        SigningKey key = SigningKey.generate("countersign.test/log", new SecureRandom());
        Checkpoint c = new Checkpoint("countersign.test/log", 42, Hashes.leaf(new byte[] {1}));
        String note = SignedNote.sign(c, key);
        assertThat(note).startsWith("countersign.test/log\n42\n" + Hashes.base64(c.rootHash()) + "\n\n\u2014 ");
        assertThat(SignedNote.openCheckpoint(note, key.verifierKey())).isEqualTo(c);

        SigningKey elsewhere = SigningKey.generate("other.test/log", new SecureRandom());
        String wrongOrigin = SignedNote.sign(c, elsewhere);
        assertThatThrownBy(() -> SignedNote.openCheckpoint(wrongOrigin, elsewhere.verifierKey()))
                .hasMessageContaining("origin");
        assertThatThrownBy(() -> Checkpoint.parse("o\n-1\nAAAA\n")).hasMessageContaining("decimal");
    }
}
