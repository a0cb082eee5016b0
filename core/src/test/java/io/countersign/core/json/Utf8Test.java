package io.countersign.core.json;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class Utf8Test {
    @ParameterizedTest(name = "{0} at {1}")
    @CsvSource({
        "61c0af62, 1", // overlong '/', which Jackson reads as '/'
        "c1bf, 0", // overlong DEL
        "e08080, 0", // overlong NUL, which Jackson reads as NUL
        "f0808080, 0", // overlong four-byte form
        "eda080, 0", // a high surrogate, encoded
        "6162edbfbf, 2", // a low surrogate, encoded
        "e282, 0", // cut short at the end
        "61e28222, 1", // cut short before a quote
        "c3, 0",
        "80, 0", // a continuation byte with nothing before it
        "f5808080, 0", // beyond U+10FFFF: Jackson reads it as lone surrogates
        "f4908080, 0", // U+110000
        "f8888080, 0",
        "fe, 0",
        "ff, 0",
    })
    void findsTheFirstSequenceThatIsNotUtf8(String hex, int offset) {
        assertThat(Utf8.invalidAt(HexFormat.of().parseHex(hex))).isEqualTo(offset);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "00", "7b7d", "c3a9", "e282ac", "efbbbf", "f09f9880", "f48fbfbf"})
    void acceptsUtf8(String hex) {
        assertThat(Utf8.invalidAt(HexFormat.of().parseHex(hex))).isEqualTo(-1);
    }

    @Test
    void findsABadSequenceFarIntoALongBody() {
        byte[] good = "é".repeat(5_000).getBytes(StandardCharsets.UTF_8);
        byte[] body = new byte[good.length + 2];
        System.arraycopy(good, 0, body, 0, good.length);
        body[good.length] = (byte) 0xc0;
        body[good.length + 1] = (byte) 0xaf;
        assertThat(Utf8.invalidAt(good)).isEqualTo(-1);
        assertThat(Utf8.invalidAt(body)).isEqualTo(good.length);
    }

    @Property
    void agreesWithTheJdksStrictDecoder(@ForAll byte[] bytes) {
        assertThat(Utf8.invalidAt(bytes) < 0).isEqualTo(strictlyDecodes(bytes));
    }

    private static boolean strictlyDecodes(byte[] bytes) {
        try {
            StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }
}
