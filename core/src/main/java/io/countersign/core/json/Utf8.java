package io.countersign.core.json;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Whether bytes a client sent are UTF-8, as JSON text must be (RFC 8259, section 8.1). Jackson's
 * byte parser decodes some invalid forms instead of refusing them: the overlong {@code C0 AF} reads
 * as {@code /}, {@code E0 80 80} as NUL, and a sequence beyond U+10FFFF ({@code F5 80 80 80}) as
 * lone surrogates. So client bodies are checked here first, with the JDK's strict decoder: overlong
 * forms, encoded surrogates, cut-short sequences and the bytes {@code F5}-{@code FF} are all refused.
 * A body of ASCII only, the common case, costs one pass over its bytes and nothing is decoded.
 */
public final class Utf8 {
    private Utf8() {}

    /** The offset of the first byte of the first sequence that is not UTF-8, or -1 if {@code bytes} are all UTF-8. */
    public static int invalidAt(byte[] bytes) {
        int i = 0;
        while (i < bytes.length && bytes[i] >= 0) i++;
        return i == bytes.length ? -1 : decodeFrom(bytes, i);
    }

    private static int decodeFrom(byte[] bytes, int from) {
        CharsetDecoder decoder = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, from, bytes.length - from);
        // Reused for each stretch: only where decoding fails matters. Two chars fit any one code point.
        CharBuffer out = CharBuffer.allocate(Math.clamp(bytes.length - from, 2, 4096));
        while (true) {
            CoderResult r = decoder.decode(in, out, true);
            if (r.isError()) return in.position(); // the decoder stops at the start of the bad sequence
            if (r.isUnderflow()) return -1;
            out.clear();
        }
    }
}
