package io.countersign.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.countersign.server.ServerFixture.Reply;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OpenApiTest {
    private static final Set<String> HTTP_METHODS = Set.of("get", "put", "post", "delete", "patch", "head", "options");

    /** Every route RequestsApi and CountersignServer serve, as "METHOD path". */
    private static final Set<String> SERVED = Set.of(
            "POST /v1/requests",
            "GET /v1/requests",
            "GET /v1/requests/{id}",
            "GET /v1/requests/{id}/events",
            "POST /v1/requests/{id}/reviews",
            "POST /v1/requests/{id}/cancel",
            "POST /v1/requests/{id}/revoke",
            "POST /v1/requests/{id}/redeem",
            "POST /v1/requests/{id}/outcome",
            "POST /v1/policy/evaluate",
            "GET /v1/requests/{id}/evidence",
            "GET /v1/requests/{id}/deliveries",
            "GET /v1/deliveries",
            "POST /v1/channels/slack/interactions",
            "GET /v1/ledger/checkpoint",
            "GET /v1/ledger/key",
            "GET /v1/ledger/checkpoints",
            "GET /v1/ledger/entries",
            "GET /v1/ledger/proofs/inclusion",
            "GET /v1/ledger/proofs/consistency",
            "POST /mcp/{upstream}",
            "GET /mcp/{upstream}",
            "DELETE /mcp/{upstream}",
            "GET /healthz",
            "GET /readyz",
            "GET /metrics",
            "GET /openapi.yaml");

    @TempDir
    Path data;

    ServerFixture cs;
    String id;

    @BeforeEach
    void start() {
        cs = new ServerFixture(data);
        id = cs.submitted(ServerFixture.PII_EXPORT);
    }

    @AfterEach
    void stop() {
        cs.close();
    }

    @Test
    void servedDocumentIsOpenApi31YamlWithProblemTypes() throws Exception {
        Reply r = cs.get("bob", "/openapi.yaml");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).startsWith("application/yaml");
        assertThat(document().path("openapi").asText()).isEqualTo("3.1.0");
    }

    @Test
    void everyServedRouteIsDocumentedAndNothingElse() throws Exception {
        assertThat(documentedRoutes()).containsExactlyInAnyOrderElementsOf(SERVED);
    }

    @Test
    void everyDocumentedRouteIsServed() throws Exception {
        for (String route : documentedRoutes()) {
            String[] parts = route.split(" ");
            Reply r = cs.send(call(parts[0], parts[1].replace("{id}", id).replace("{upstream}", "none")));
            assertThat(r.problem())
                    .as(route + " -> " + r.status() + " " + r.body())
                    .isNotEqualTo("not-found");
        }
    }

    @Test
    void undocumentedMethodsOnDocumentedPathsAreNotAllowedAndAllowNamesTheDocumentedOnes() throws Exception {
        Map<String, Set<String>> documented = new TreeMap<>();
        for (String route : documentedRoutes()) {
            String[] parts = route.split(" ");
            documented.computeIfAbsent(parts[1], p -> new TreeSet<>()).add(parts[0]);
        }
        documented.forEach((path, methods) -> {
            Reply r = cs.send(call("PUT", path.replace("{id}", id).replace("{upstream}", "none")));
            assertThat(r.status()).as(path).isEqualTo(405);
            assertThat(r.problem()).isEqualTo("method-not-allowed");
            // HEAD is served, undocumented, where GET's answer is only its status (/healthz, /readyz).
            assertThat(Set.of(r.header("Allow").split(", ")))
                    .as(path)
                    .containsAll(methods)
                    .allMatch(m -> methods.contains(m) || m.equals("HEAD"));
        });
    }

    @Test
    void aGetThatTakesQueryParametersRefusesOneItDoesNotListAndNamesTheDocumentedOnes() throws Exception {
        Map<String, List<String>> taken = new TreeMap<>();
        document().path("paths").properties().forEach(path -> {
            List<String> names = new ArrayList<>();
            for (JsonNode p : path.getValue().path("get").path("parameters"))
                if (p.path("in").asText().equals("query"))
                    names.add(p.path("name").asText());
            if (!names.isEmpty()) taken.put(path.getKey(), names);
        });
        assertThat(taken).hasSize(7);
        taken.forEach((path, names) -> {
            Reply r = cs.send(call("GET", path.replace("{id}", id) + "?frmo=1"));
            assertThat(r.problem()).as(path + " -> " + r.body()).isEqualTo("unknown-query-parameter");
            assertThat(r.json().path("detail").asText())
                    .as(path)
                    .isEqualTo("unknown query parameter 'frmo'; known: " + names);
        });
    }

    @Test
    void healthAndReadinessAnswer200() {
        assertThat(cs.get("bob", "/healthz").json().path("status").asText()).isEqualTo("ok");
        Reply ready = cs.send(HttpRequest.newBuilder(cs.uri("/readyz")).GET());
        assertThat(ready.status()).isEqualTo(200);
        assertThat(ready.json().path("status").asText()).isEqualTo("ready");
    }

    @Test
    void metricsCountSubmissionsByDecision() {
        Reply r = cs.send(HttpRequest.newBuilder(cs.uri("/metrics")).GET());
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body())
                .containsPattern("countersign_requests_submitted_total\\{decision=\"require_approval\"[^}]*} 1\\.0");
    }

    private HttpRequest.Builder call(String method, String path) {
        HttpRequest.BodyPublisher body =
                method.equals("POST") ? HttpRequest.BodyPublishers.ofString("{}") : HttpRequest.BodyPublishers.noBody();
        return cs.as("bob", path).header("Content-Type", "application/json").method(method, body);
    }

    private JsonNode document() throws Exception {
        return new YAMLMapper().readTree(cs.get("bob", "/openapi.yaml").body());
    }

    private Set<String> documentedRoutes() throws Exception {
        Set<String> routes = new TreeSet<>();
        document()
                .path("paths")
                .properties()
                .forEach(path -> path.getValue().fieldNames().forEachRemaining(m -> {
                    if (HTTP_METHODS.contains(m)) routes.add(m.toUpperCase() + " " + path.getKey());
                }));
        return routes;
    }
}
