package io.countersign.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every RFC 9162 inclusion and consistency vector of transparency-dev/merkle (test resources,
 * merkle/): the verifier accepts exactly the cases whose {@code wantErr} is false.
 */
class ConformanceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TestFactory
    Stream<DynamicTest> inclusionVectors() throws Exception {
        return cases("inclusion")
                .map(c -> DynamicTest.dynamicTest(c.name, () -> {
                    JsonNode v = c.json;
                    boolean accepted = accepts(() -> ProofVerifier.verifyInclusion(
                            v.get("leafIdx").asLong(),
                            v.get("treeSize").asLong(),
                            bytes(v.get("leafHash")),
                            hashes(v.get("proof")),
                            bytes(v.get("root"))));
                    assertThat(accepted)
                            .as(c.name + ": " + v.get("desc").asText())
                            .isEqualTo(!v.get("wantErr").asBoolean());
                }));
    }

    @TestFactory
    Stream<DynamicTest> consistencyVectors() throws Exception {
        return cases("consistency")
                .map(c -> DynamicTest.dynamicTest(c.name, () -> {
                    JsonNode v = c.json;
                    boolean accepted = accepts(() -> ProofVerifier.verifyConsistency(
                            v.get("size1").asLong(),
                            v.get("size2").asLong(),
                            bytes(v.get("root1")),
                            bytes(v.get("root2")),
                            hashes(v.get("proof"))));
                    assertThat(accepted)
                            .as(c.name + ": " + v.get("desc").asText())
                            .isEqualTo(!v.get("wantErr").asBoolean());
                }));
    }

    @Test
    void theVectorsAreAllThere() throws Exception {
        assertThat(cases("inclusion").count()).isEqualTo(98);
        assertThat(cases("consistency").count()).isEqualTo(98);
        assertThat(cases("inclusion")
                        .filter(c -> !c.json.get("wantErr").asBoolean())
                        .count())
                .isGreaterThan(5);
    }

    private record Case(String name, JsonNode json) {}

    private static Stream<Case> cases(String kind) throws IOException, URISyntaxException {
        Path root = Path.of(ConformanceTest.class.getResource("/merkle/" + kind).toURI());
        List<Case> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f :
                    files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                out.add(new Case(root.relativize(f).toString(), JSON.readTree(f.toFile())));
            }
        }
        return out.stream();
    }

    private static boolean accepts(Runnable verification) {
        try {
            verification.run();
            return true;
        } catch (VerificationException e) {
            return false;
        }
    }

    private static byte[] bytes(JsonNode n) {
        return n == null || n.isNull() ? new byte[0] : Base64.getDecoder().decode(n.asText());
    }

    private static List<byte[]> hashes(JsonNode n) {
        List<byte[]> out = new ArrayList<>();
        if (n != null && n.isArray()) n.forEach(h -> out.add(bytes(h)));
        return out;
    }
}
