package io.countersign.core.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class CanonicalJsonTest {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    static Stream<Arguments> rfc8785AppendixB() {
        return Stream.of(
                Arguments.of(0x0000000000000000L, "0"),
                Arguments.of(0x8000000000000000L, "0"),
                Arguments.of(0x0000000000000001L, "5e-324"),
                Arguments.of(0x8000000000000001L, "-5e-324"),
                Arguments.of(0x7fefffffffffffffL, "1.7976931348623157e+308"),
                Arguments.of(0xffefffffffffffffL, "-1.7976931348623157e+308"),
                Arguments.of(0x4340000000000000L, "9007199254740992"),
                Arguments.of(0xc340000000000000L, "-9007199254740992"),
                Arguments.of(0x4430000000000000L, "295147905179352830000"),
                Arguments.of(0x44b52d02c7e14af5L, "9.999999999999997e+22"),
                Arguments.of(0x44b52d02c7e14af6L, "1e+23"),
                Arguments.of(0x44b52d02c7e14af7L, "1.0000000000000001e+23"),
                Arguments.of(0x444b1ae4d6e2ef4eL, "999999999999999700000"),
                Arguments.of(0x444b1ae4d6e2ef4fL, "999999999999999900000"),
                Arguments.of(0x444b1ae4d6e2ef50L, "1e+21"),
                Arguments.of(0x3eb0c6f7a0b5ed8cL, "9.999999999999997e-7"),
                Arguments.of(0x3eb0c6f7a0b5ed8dL, "0.000001"),
                Arguments.of(0x41b3de4355555553L, "333333333.3333332"),
                Arguments.of(0x41b3de4355555554L, "333333333.33333325"),
                Arguments.of(0x41b3de4355555555L, "333333333.3333333"),
                Arguments.of(0x41b3de4355555556L, "333333333.3333334"),
                Arguments.of(0x41b3de4355555557L, "333333333.33333343"),
                Arguments.of(0xbecbf647612f3696L, "-0.0000033333333333333333"),
                Arguments.of(0x43143ff3c1cb0959L, "1424953923781206.2"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("rfc8785AppendixB")
    void formatsNumbersAsRfc8785AppendixB(long bits, String expected) {
        double d = Double.longBitsToDouble(bits);
        assertThat(CanonicalJson.formatDouble(d)).isEqualTo(expected);
        assertThat(CanonicalJson.canonicalize(F.numberNode(d))).isEqualTo(expected);
    }

    @ParameterizedTest
    @MethodSource("nonFinite")
    void refusesNonFiniteNumbers(double d) {
        assertThatThrownBy(() -> CanonicalJson.canonicalize(F.numberNode(d)))
                .isInstanceOf(NotCanonicalizableException.class);
    }

    static Stream<Double> nonFinite() {
        return Stream.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY);
    }

    @Test
    void canonicalizesTheRfc8785Section322Example() throws JsonProcessingException {
        String input = "{\"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],"
                + " \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\","
                + " \"literals\": [null, true, false]}";
        String expected = "{\"literals\":[null,true,false],"
                + "\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
                + "\"string\":\"\u20ac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";

        assertThat(CanonicalJson.canonicalize(parse(input))).isEqualTo(expected);
    }

    @Test
    void theSection322ExpectedTextIsWhatTheRfcPrints() {
        // Guards the Java escaping of the expectation above against a slip.
        String expectedTail = "\"string\":\"\u20ac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
        assertThat(expectedTail)
                .isEqualTo("\"string\":\"€$" + '\\' + "u000f" + '\\' + "nA'B" + '\\' + '"' + '\\' + '\\' + '\\' + '\\'
                        + '\\' + '"' + "/\"}");
    }

    @Test
    void sortsMembersByUtf16CodeUnitsAsSection323() throws JsonProcessingException {
        String input = "{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\", \"\\ufb33\": \"Hebrew Letter Dalet"
                + " With Dagesh\", \"1\": \"One\", \"\\ud83d\\ude00\": \"Emoji: Grinning Face\", \"\\u0080\":"
                + " \"Control\", \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"}";

        JsonNode sorted = parse(CanonicalJson.canonicalize(parse(input)));

        List<String> values = new ArrayList<>();
        sorted.elements().forEachRemaining(v -> values.add(v.textValue()));
        assertThat(values)
                .containsExactly(
                        "Carriage Return",
                        "One",
                        "Control",
                        "Latin Small Letter O With Diaeresis",
                        "Euro Sign",
                        "Emoji: Grinning Face",
                        "Hebrew Letter Dalet With Dagesh");
    }

    @Test
    void escapesControlCharactersWithLowerCaseHex() {
        assertThat(CanonicalJson.canonicalize(F.textNode("\u0001\u001f\t\b\f\r")))
                .isEqualTo("\"\\u0001\\u001f\\t\\b\\f\\r\"");
    }

    @Test
    void writesIntegersUpToTwoToThe53() throws JsonProcessingException {
        assertThat(CanonicalJson.canonicalize(parse("[9007199254740992,-9007199254740992]")))
                .isEqualTo("[9007199254740992,-9007199254740992]");
    }

    @Test
    void readsBackItsOwnOutputForLargeIntegralDoubles() throws JsonProcessingException {
        String canonical = CanonicalJson.canonicalize(F.numberNode(1e20));

        assertThat(canonical).isEqualTo("100000000000000000000");
        assertThat(CanonicalJson.canonicalize(parse(canonical))).isEqualTo(canonical);
    }

    @ParameterizedTest
    @MethodSource("unsafeIntegers")
    void refusesIntegersBeyondTwoToThe53(String json) throws JsonProcessingException {
        JsonNode node = parse(json);
        assertThatThrownBy(() -> CanonicalJson.canonicalize(node)).isInstanceOf(NotCanonicalizableException.class);
    }

    static Stream<String> unsafeIntegers() {
        return Stream.of(
                "9007199254740993",
                "-9007199254740993",
                "-9223372036854775808",
                "{\"n\":123456789012345678901234567890}");
    }

    @Test
    void strictMapperRefusesDuplicateKeys() {
        assertThatThrownBy(() -> parse("{\"a\":1,\"a\":2}")).isInstanceOf(JsonProcessingException.class);
    }

    @Test
    void strictMapperRefusesTrailingTokens() {
        assertThatThrownBy(() -> parse("{\"a\":1} {}")).isInstanceOf(JsonProcessingException.class);
    }

    @ParameterizedTest
    @MethodSource("loneSurrogates")
    void refusesLoneSurrogates(String text) {
        assertThatThrownBy(() -> CanonicalJson.canonicalize(F.textNode(text)))
                .isInstanceOf(NotCanonicalizableException.class);
    }

    static Stream<String> loneSurrogates() {
        return Stream.of("\ud83d", "a\ude00", "\ude00\ud83d", "x\ud83dy");
    }

    @Test
    void refusesLoneSurrogatesInMemberNames() {
        ObjectNode node = F.objectNode().put("\ud83d", 1);
        assertThatThrownBy(() -> CanonicalJson.canonicalize(node)).isInstanceOf(NotCanonicalizableException.class);
    }

    @Test
    void keepsSurrogatePairsAsUtf8() {
        assertThat(CanonicalJson.canonicalBytes(F.textNode("\ud83d\ude00")))
                .containsExactly('"', 0xf0, 0x9f, 0x98, 0x80, '"');
    }

    @Test
    void sha256HexIsTheDigestOfTheCanonicalBytes() throws JsonProcessingException {
        // SHA-256 of {"a":1}
        assertThat(CanonicalJson.sha256Hex(parse("{ \"a\" : 1.0 }")))
                .isEqualTo("015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862");
    }

    @Property
    void canonicalizationIsIdempotent(@ForAll("json") JsonNode value) throws JsonProcessingException {
        String once = CanonicalJson.canonicalize(value);
        assertThat(CanonicalJson.canonicalize(parse(once))).isEqualTo(once);
    }

    @Property
    void escapesExactlyWhatSection3222Requires(@ForAll("texts") String text) {
        assertThat(CanonicalJson.canonicalize(F.textNode(text))).isEqualTo(minimallyEscaped(text));
    }

    /** RFC 8785 section 3.2.2.2 written out one character at a time, as the oracle for the fast path. */
    private static String minimallyEscaped(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> out.append(c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
            }
        }
        return out.append('"').toString();
    }

    @Property
    void memberOrderDoesNotChangeTheCanonicalForm(@ForAll("json") JsonNode value, @ForAll long seed) {
        assertThat(CanonicalJson.canonicalize(reordered(value, new Random(seed))))
                .isEqualTo(CanonicalJson.canonicalize(value));
    }

    @Property(tries = 300)
    void aSlotFilledInIsTheCanonicalFormWithThatMember(
            @ForAll("objects") ObjectNode object, @ForAll("names") String name, @ForAll long value) {
        long safe = value % (1L << 53);
        ObjectNode with = object.deepCopy();
        with.put(name, safe);
        assertThat(CanonicalJson.slot(object, name).with(safe)).isEqualTo(CanonicalJson.canonicalize(with));
    }

    @Test
    void aSlotReplacesAMemberOfTheSameName() {
        ObjectNode o = F.objectNode().put("type", "x").put("index", "old").put("at", "t");
        assertThat(CanonicalJson.slot(o, "index").with(7)).isEqualTo("{\"at\":\"t\",\"index\":7,\"type\":\"x\"}");
        assertThat(CanonicalJson.slot(F.objectNode(), "index").with(0)).isEqualTo("{\"index\":0}");
    }

    @Test
    void aSlotRefusesIntegersBeyondTwoToThe53() {
        CanonicalJson.Slot slot = CanonicalJson.slot(F.objectNode(), "index");
        assertThatThrownBy(() -> slot.with((1L << 53) + 1)).isInstanceOf(NotCanonicalizableException.class);
    }

    @Provide
    Arbitrary<ObjectNode> objects() {
        return Arbitraries.maps(Arbitraries.oneOf(text(), Arbitraries.of("index", "id", "at", "type")), json())
                .ofMaxSize(6)
                .map(m -> {
                    ObjectNode o = F.objectNode();
                    m.forEach(o::set);
                    return o;
                });
    }

    @Provide
    Arbitrary<String> names() {
        return Arbitraries.oneOf(Arbitraries.of("index", "", "\uffff", "a"), text());
    }

    @Provide
    Arbitrary<String> texts() {
        return text();
    }

    @Provide
    Arbitrary<JsonNode> json() {
        return Arbitraries.recursive(this::scalar, this::container, 0, 3);
    }

    private Arbitrary<JsonNode> container(Arbitrary<JsonNode> inner) {
        Arbitrary<JsonNode> array =
                inner.list().ofMaxSize(4).map(l -> F.arrayNode().addAll(l));
        Arbitrary<JsonNode> object = Arbitraries.maps(text(), inner)
                .ofMaxSize(4)
                .map(m -> {
                    ObjectNode o = F.objectNode();
                    m.forEach(o::set);
                    return o;
                });
        return Arbitraries.oneOf(array, object);
    }

    private Arbitrary<JsonNode> scalar() {
        return Arbitraries.oneOf(
                text().map(F::textNode),
                Arbitraries.longs().between(-(1L << 53), 1L << 53).map(F::numberNode),
                Arbitraries.longs()
                        .map(Double::longBitsToDouble)
                        .filter(Double::isFinite)
                        .map(F::numberNode),
                Arbitraries.of(F.booleanNode(true), F.booleanNode(false), F.nullNode()));
    }

    private static Arbitrary<String> text() {
        return Arbitraries.strings()
                .withCharRange('\u0000', '\ud7ff')
                .withCharRange('\ue000', '\uffff')
                .withChars("\ud83d\ude00")
                .ofMaxLength(8)
                .filter(CanonicalJsonTest::noLoneSurrogate);
    }

    private static boolean noLoneSurrogate(String s) {
        try {
            CanonicalJson.canonicalize(F.textNode(s));
            return true;
        } catch (NotCanonicalizableException e) {
            return false;
        }
    }

    private static JsonNode reordered(JsonNode node, Random random) {
        if (node.isArray()) {
            List<JsonNode> items = new ArrayList<>();
            node.forEach(n -> items.add(reordered(n, random)));
            return F.arrayNode().addAll(items);
        }
        if (!node.isObject()) return node;
        List<Map.Entry<String, JsonNode>> members = new ArrayList<>(node.properties());
        Collections.shuffle(members, random);
        ObjectNode out = F.objectNode();
        members.forEach(e -> out.set(e.getKey(), reordered(e.getValue(), random)));
        return out;
    }

    private static JsonNode parse(String json) throws JsonProcessingException {
        return CanonicalJson.strictMapper().readTree(json);
    }
}
