package io.countersign.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.ledger.Checkpoint;
import io.countersign.ledger.Hashes;
import io.countersign.ledger.ProofVerifier;
import io.countersign.ledger.SignedNote;
import io.countersign.ledger.VerifierKey;
import io.countersign.server.ServerFixture.Reply;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ledger over HTTP: checkpoint, key, entries, proofs and a request's evidence, all verified here. */
class LedgerApiTest {
    @TempDir
    Path data;

    ServerFixture cs;

    @BeforeEach
    void start() {
        cs = new ServerFixture(data);
    }

    @AfterEach
    void stop() {
        cs.close();
    }

    VerifierKey key() {
        Reply r = cs.get("bob", "/v1/ledger/key");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("content-type")).startsWith("text/plain");
        return VerifierKey.parse(r.body());
    }

    Checkpoint checkpoint() {
        Reply r = cs.get("bob", "/v1/ledger/checkpoint");
        assertThat(r.status()).isEqualTo(200);
        return SignedNote.openCheckpoint(r.body(), key());
    }

    /** A PII export approved by bob and carol after alice (the bot's owner) was refused. */
    String approvedRequest() {
        String id = cs.submitted(ServerFixture.PII_EXPORT);
        assertThat(cs.review("alice", id, "approve", "mine").status()).isEqualTo(403);
        assertThat(cs.review("bob", id, "approve", "ok").status()).isEqualTo(200);
        assertThat(cs.review("carol", id, "approve", "ok").status()).isEqualTo(200);
        return id;
    }

    @Test
    void theFirstEntryIsThePolicyTheServerLoaded() {
        JsonNode page = cs.get("bob", "/v1/ledger/entries?start=0&end=1").json();
        JsonNode first = json(page.get("entries").get(0).get("leaf").asText());
        assertThat(first.get("type").asText()).isEqualTo("policy.loaded");
        assertThat(first.get("policy_version").asText()).startsWith("sha256:");
        assertThat(first.get("index").asLong()).isZero();
        assertThat(first.has("request_id")).isFalse();
    }

    @Test
    void evidenceProvesEveryEventOfARequestAgainstOneSignedCheckpoint() {
        String id = approvedRequest();
        JsonNode ev = cs.get("bob", "/v1/requests/" + id + "/evidence").json();
        VerifierKey key = key();
        assertThat(ev.get("verifier_key").asText()).isEqualTo(key.toString());
        Checkpoint c = SignedNote.openCheckpoint(ev.get("checkpoint").asText(), key);
        List<String> types = new ArrayList<>();
        for (JsonNode e : ev.get("events")) {
            byte[] leaf = e.get("leaf").asText().getBytes(StandardCharsets.UTF_8);
            List<byte[]> proof = new ArrayList<>();
            e.get("proof").forEach(h -> proof.add(Hashes.fromBase64(h.asText())));
            ProofVerifier.verifyInclusion(e.get("index").asLong(), c.size(), Hashes.leaf(leaf), proof, c.rootHash());
            JsonNode event = json(e.get("leaf").asText());
            assertThat(event.get("request_id").asText()).isEqualTo(id);
            assertThat(event.has("params")).as("params appear only as a hash").isFalse();
            if (event.get("type").asText().equals("request.submitted")) {
                assertThat(event.get("params_sha256").asText()).hasSize(64);
                assertThat(event.get("params_in_clear").toString()).isEqualTo("{\"table\":\"customers\"}");
            }
            types.add(event.get("type").asText());
        }
        assertThat(types)
                .containsExactly(
                        "request.submitted",
                        "request.decided",
                        "review.refused",
                        "review.recorded",
                        "review.recorded",
                        "request.approved",
                        "grant.issued");
    }

    @Test
    void proofsOverHttpVerifyAgainstTheSignedCheckpoints() {
        approvedRequest();
        Checkpoint older = checkpointCovering();
        approvedRequest();
        Checkpoint newer = checkpointCovering();
        assertThat(newer.size()).isGreaterThan(older.size());

        JsonNode page =
                cs.get("bob", "/v1/ledger/entries?start=0&end=" + newer.size()).json();
        for (JsonNode e : page.get("entries")) {
            long i = e.get("index").asLong();
            JsonNode p = cs.get("bob", "/v1/ledger/proofs/inclusion?index=" + i + "&size=" + newer.size())
                    .json();
            byte[] leafHash = Hashes.leaf(e.get("leaf").asText().getBytes(StandardCharsets.UTF_8));
            assertThat(Hashes.base64(leafHash)).isEqualTo(p.get("leaf_hash").asText());
            ProofVerifier.verifyInclusion(i, newer.size(), leafHash, hashes(p), newer.rootHash());
        }
        JsonNode cp = cs.get("bob", "/v1/ledger/proofs/consistency?old=" + older.size() + "&new=" + newer.size())
                .json();
        ProofVerifier.verifyConsistency(older.size(), newer.size(), older.rootHash(), newer.rootHash(), hashes(cp));
    }

    @Test
    void badProofParametersGetProblems() {
        approvedRequest();
        long size = checkpointCovering().size();
        assertThat(cs.get("bob", "/v1/ledger/proofs/inclusion?index=abc").problem())
                .isEqualTo("invalid-parameter");
        assertThat(cs.get("bob", "/v1/ledger/proofs/inclusion").problem()).isEqualTo("invalid-parameter");
        assertThat(cs.get("bob", "/v1/ledger/proofs/inclusion?index=" + size + "&size=" + size)
                        .problem())
                .isEqualTo("out-of-range");
        assertThat(cs.get("bob", "/v1/ledger/proofs/inclusion?index=0&size=" + (size + 100))
                        .problem())
                .isEqualTo("out-of-range");
        assertThat(cs.get("bob", "/v1/ledger/proofs/consistency?old=0&new=" + size)
                        .problem())
                .isEqualTo("out-of-range");
        assertThat(cs.get("bob", "/v1/ledger/entries?start=0&end=100000").problem())
                .isEqualTo("out-of-range");
        assertThat(cs.get("bob", "/v1/ledger/entries?start=-1").problem()).isEqualTo("invalid-parameter");
    }

    @Test
    void theLedgerNeedsAnApiKey() {
        Reply r = cs.send(java.net.http.HttpRequest.newBuilder(cs.uri("/v1/ledger/checkpoint")));
        assertThat(r.status()).isEqualTo(401);
    }

    @Test
    void evidenceIsOnlyForThoseWhoMaySeeTheRequest() {
        String id = approvedRequest();
        assertThat(cs.get("etl-pipeline", "/v1/requests/" + id + "/evidence").status())
                .isIn(403, 404);
        assertThat(cs.get("bob", "/v1/requests/req_00000000000000000000000000/evidence")
                        .problem())
                .isEqualTo("request-not-found");
    }

    @Test
    void aServerWhoseLedgerWasEditedServesReadsButRefusesEveryWrite() throws Exception {
        String id = approvedRequest();
        cs.close();
        try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("countersign.db"));
                var s = c.createStatement()) {
            s.executeUpdate("UPDATE events SET body = replace(body, '\"reason\":\"ok\"', '\"reason\":\"ko\"')"
                    + " WHERE type = 'review.recorded'");
        }
        cs = new ServerFixture(data);
        Reply write = cs.submit("deploy-bot", ServerFixture.READ_QUERY);
        assertThat(write.status()).isEqualTo(503);
        assertThat(write.problem()).isEqualTo("ledger-integrity");
        assertThat(write.json().path("detail").asText()).contains("edited");
        assertThat(cs.get("bob", "/readyz").status()).isEqualTo(503);
        assertThat(cs.get("bob", "/v1/requests/" + id).status()).isEqualTo(200);
        assertThat(cs.review("dave", id, "deny", "late").problem()).isEqualTo("ledger-integrity");
    }

    @Test
    void aRotatedKeyIsAnEventAndTheOldCheckpointsStillCount() throws Exception {
        approvedRequest();
        Checkpoint before = checkpointCovering();
        VerifierKey oldKey = key();
        cs.close();
        var newKey = io.countersign.ledger.SigningKey.generate(oldKey.name(), new java.security.SecureRandom());
        Path keyFile = data.resolve("next.key");
        io.countersign.server.config.LedgerKeys.writeSecret(keyFile, newKey.encode() + "\n");
        cs = new ServerFixture(
                data,
                new io.countersign.server.config.ServerConfig.Ledger(
                        keyFile, null, java.time.Duration.ofSeconds(1), 100));
        assertThat(cs.get("bob", "/readyz").status()).isEqualTo(200);
        assertThat(key()).isEqualTo(newKey.verifierKey());
        JsonNode rotated =
                json(cs.get("bob", "/v1/ledger/entries?start=" + before.size() + "&end=" + (before.size() + 1))
                        .json()
                        .get("entries")
                        .get(0)
                        .get("leaf")
                        .asText());
        assertThat(rotated.get("type").asText()).isEqualTo("ledger.key_rotated");
        assertThat(rotated.get("previous_key").asText()).isEqualTo(oldKey.toString());
        assertThat(rotated.get("key").asText()).isEqualTo(newKey.verifierKey().toString());
        approvedRequest();
        Checkpoint after = checkpointCovering();
        JsonNode cp = cs.get("bob", "/v1/ledger/proofs/consistency?old=" + before.size() + "&new=" + after.size())
                .json();
        ProofVerifier.verifyConsistency(before.size(), after.size(), before.rootHash(), after.rootHash(), hashes(cp));
        // Restarting again with the new key trusts both keys' checkpoints and rotates nothing.
        cs.close();
        cs = new ServerFixture(
                data,
                new io.countersign.server.config.ServerConfig.Ledger(
                        keyFile, null, java.time.Duration.ofSeconds(1), 100));
        assertThat(cs.get("bob", "/readyz").status()).isEqualTo(200);
    }

    /** The evidence call signs a checkpoint covering everything so far; the checkpoint route then shows it. */
    private Checkpoint checkpointCovering() {
        String any = cs.submitted(ServerFixture.READ_QUERY);
        cs.get("deploy-bot", "/v1/requests/" + any + "/evidence");
        return checkpoint();
    }

    private static List<byte[]> hashes(JsonNode proof) {
        List<byte[]> out = new ArrayList<>();
        proof.get("hashes").forEach(h -> out.add(Hashes.fromBase64(h.asText())));
        return out;
    }

    private static JsonNode json(String text) {
        try {
            return io.countersign.core.json.Json.mapper().readTree(text);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
