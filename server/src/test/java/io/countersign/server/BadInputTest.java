package io.countersign.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.server.ServerFixture.Reply;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each bad call gets its own problem, and none of them stores or changes anything: after each
 * test the one legitimately submitted request, its events and the agent's list are as they were.
 */
class BadInputTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path data;

    ServerFixture cs;
    String pendingId;
    JsonNode pendingBefore;
    JsonNode eventsBefore;

    @BeforeEach
    void startWithOnePendingRequest() {
        cs = new ServerFixture(data);
        pendingId = cs.submitted(ServerFixture.PII_EXPORT);
        pendingBefore = cs.get("deploy-bot", "/v1/requests/" + pendingId).json();
        eventsBefore =
                cs.get("deploy-bot", "/v1/requests/" + pendingId + "/events").json();
    }

    @AfterEach
    void nothingWasStoredOrChanged() {
        try {
            assertThat(cs.get("deploy-bot", "/v1/requests/" + pendingId).json()).isEqualTo(pendingBefore);
            assertThat(cs.get("deploy-bot", "/v1/requests/" + pendingId + "/events")
                            .json())
                    .isEqualTo(eventsBefore);
            JsonNode listed = cs.get("deploy-bot", "/v1/requests").json().path("requests");
            assertThat(listed).hasSize(1);
            assertThat(listed.get(0).path("id").asText()).isEqualTo(pendingId);
        } finally {
            cs.close();
        }
    }

    /** A bad call: how to make it (given the fixture and the pending id) and the problem it must get. */
    record BadCall(String name, BiFunction<ServerFixture, String, HttpRequest.Builder> call, int status, String slug) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<BadCall> badCalls() {
        return Stream.of(
                new BadCall("malformed JSON", (cs, id) -> submit(cs, "{\"action\": "), 400, "malformed-json"),
                new BadCall("duplicate key", (cs, id) -> submit(cs, duplicateKey()), 400, "malformed-json"),
                new BadCall("empty body", (cs, id) -> submit(cs, ""), 400, "malformed-json"),
                new BadCall("JSON null body", (cs, id) -> submit(cs, "null"), 400, "malformed-json"),
                new BadCall(
                        "data after the JSON value",
                        (cs, id) -> submit(
                                cs,
                                "{\"action\":{\"type\":\"db.query\"},\"resource\":{\"type\":\"db\",\"id\":\"x\"}} {}"),
                        400,
                        "malformed-json"),
                new BadCall("empty review body", (cs, id) -> json(cs, "bob", reviews(id), ""), 400, "malformed-json"),
                new BadCall(
                        "review without verdict", (cs, id) -> json(cs, "bob", reviews(id), "{}"), 400, "invalid-field"),
                new BadCall(
                        "unknown verdict",
                        (cs, id) -> json(cs, "bob", reviews(id), "{\"verdict\":\"maybe\"}"),
                        400,
                        "invalid-field"),
                new BadCall("wrong content type", (cs, id) -> typed(cs, "text/plain"), 415, "unsupported-media-type"),
                new BadCall(
                        "a content type that only begins like JSON's",
                        (cs, id) -> typed(cs, "application/jsonx"),
                        415,
                        "unsupported-media-type"),
                new BadCall("missing Authorization", (cs, id) -> unauthenticated(cs, id), 401, "unauthenticated"),
                new BadCall("Basic scheme", (cs, id) -> basic(cs, id), 401, "unauthenticated"),
                new BadCall(
                        "unknown key", (cs, id) -> withKey(cs, id, "cs_" + "x".repeat(43)), 401, "invalid-credentials"),
                new BadCall(
                        "malformed request id",
                        (cs, id) -> cs.as("bob", "/v1/requests/req_nope").GET(),
                        400,
                        "invalid-request-id"),
                new BadCall(
                        "unknown request id",
                        (cs, id) ->
                                cs.as("bob", "/v1/requests/" + unknownId(id)).GET(),
                        404,
                        "request-not-found"),
                new BadCall(
                        "review of unknown id",
                        (cs, id) ->
                                json(cs, "bob", reviews(unknownId(id)), "{\"verdict\":\"approve\",\"reason\":\"x\"}"),
                        404,
                        "request-not-found"),
                new BadCall(
                        "review reason over 4,000 characters",
                        (cs, id) -> json(
                                cs,
                                "bob",
                                reviews(id),
                                "{\"verdict\":\"approve\",\"reason\":\"" + "x".repeat(4001) + "\"}"),
                        422,
                        "invalid-request"),
                new BadCall(
                        "review digest that is no digest",
                        (cs, id) -> json(
                                cs,
                                "bob",
                                reviews(id),
                                "{\"verdict\":\"approve\",\"reason\":\"x\",\"digest\":\"" + "z".repeat(500) + "\"}"),
                        422,
                        "invalid-request"),
                new BadCall(
                        "revoke reason over 4,000 characters",
                        (cs, id) -> json(
                                cs,
                                "bob",
                                "/v1/requests/" + id + "/revoke",
                                "{\"reason\":\"" + "x".repeat(4001) + "\"}"),
                        422,
                        "invalid-request"),
                new BadCall(
                        "bad action type", (cs, id) -> submit(cs, actionOfType("DB Export!")), 422, "invalid-request"),
                new BadCall(
                        "integer beyond 2^53",
                        (cs, id) -> submit(cs, withParam("9007199254740993")),
                        422,
                        "not-canonicalizable"),
                new BadCall(
                        "params nested too deep to serve back",
                        (cs, id) -> submit(cs, withParam(nested(990))),
                        422,
                        "invalid-request"),
                new BadCall(
                        "context nested too deep to serve back",
                        (cs, id) -> submit(cs, withContext(nested(995))),
                        422,
                        "invalid-request"),
                new BadCall(
                        "unknown route",
                        (cs, id) -> cs.as("bob", "/v1/nothing-here").GET(),
                        404,
                        "not-found"),
                new BadCall(
                        "wrong method on a known path",
                        (cs, id) -> cs.as("bob", "/v1/requests").DELETE(),
                        405,
                        "method-not-allowed"),
                new BadCall(
                        "invalid state query",
                        (cs, id) -> cs.as("bob", "/v1/requests?state=sleeping").GET(),
                        400,
                        "invalid-query"),
                new BadCall(
                        "invalid limit query",
                        (cs, id) -> cs.as("bob", "/v1/requests?limit=0").GET(),
                        400,
                        "invalid-query"),
                new BadCall("blank Idempotency-Key", (cs, id) -> idempotent(cs, " "), 400, "invalid-idempotency-key"),
                unknownQuery("/v1/requests?stat=pending"),
                unknownQuery("/v1/requests?state=pending&limit=5&page=2"),
                unknownQuery("/v1/requests/{id}?wiat=5s"),
                unknownQuery("/v1/ledger/entries?form=10"),
                unknownQuery("/v1/ledger/checkpoints?limt=5"),
                unknownQuery("/v1/ledger/proofs/inclusion?index=0&sise=1"),
                unknownQuery("/v1/ledger/proofs/consistency?old=1&newest=1"),
                unknownQuery("/v1/deliveries?chanel=slack"));
    }

    /** A GET with a query parameter its route does not take (a typo would otherwise get the default). */
    static BadCall unknownQuery(String path) {
        return new BadCall(
                "unknown query parameter: " + path,
                (cs, id) -> cs.as("bob", path.replace("{id}", id)).GET(),
                400,
                "unknown-query-parameter");
    }

    /** A scalar of another JSON type where a body has a string: refused, not read as its text. */
    static Stream<BadCall> scalarsOfAnotherType() {
        return Stream.of(
                new BadCall(
                        "review reason that is a number",
                        (cs, id) -> json(cs, "bob", reviews(id), "{\"verdict\":\"approve\",\"reason\":12}"),
                        400,
                        "invalid-field"),
                new BadCall(
                        "review digest that is a boolean",
                        (cs, id) ->
                                json(cs, "bob", reviews(id), "{\"verdict\":\"deny\",\"reason\":\"x\",\"digest\":true}"),
                        400,
                        "invalid-field"),
                new BadCall(
                        "resource id that is a number",
                        (cs, id) -> submit(cs, ServerFixture.PII_EXPORT.replace("\"id\": \"customers\"", "\"id\": 12")),
                        400,
                        "invalid-field"),
                new BadCall(
                        "justification that is a boolean",
                        (cs, id) -> submit(cs, withJustification("true")),
                        400,
                        "invalid-field"),
                new BadCall(
                        "on_behalf_of that is a number",
                        (cs, id) -> submit(
                                cs,
                                ServerFixture.PII_EXPORT.replace(
                                        "\"justification\"", "\"on_behalf_of\": 7, \"justification\"")),
                        400,
                        "invalid-field"),
                new BadCall(
                        "a tag that is a number",
                        (cs, id) -> submit(cs, withTags("[\"pii\", 1]")),
                        400,
                        "invalid-field"),
                new BadCall(
                        "redeem digest that is a number",
                        (cs, id) -> json(cs, "deploy-bot", "/v1/requests/" + id + "/redeem", "{\"digest\":1234}"),
                        400,
                        "invalid-field"),
                new BadCall(
                        "outcome detail that is a boolean",
                        (cs, id) -> json(
                                cs,
                                "deploy-bot",
                                "/v1/requests/" + id + "/outcome",
                                "{\"status\":\"executed\",\"detail\":false}"),
                        400,
                        "invalid-field"),
                new BadCall(
                        "revoke reason that is a number",
                        (cs, id) -> json(cs, "bob", "/v1/requests/" + id + "/revoke", "{\"reason\":1.5}"),
                        400,
                        "invalid-field"),
                new BadCall(
                        "evaluated resource type that is a number",
                        (cs, id) -> json(
                                cs,
                                "deploy-bot",
                                "/v1/policy/evaluate",
                                ServerFixture.PII_EXPORT.replace("\"type\": \"table\"", "\"type\": 3")),
                        400,
                        "invalid-field"));
    }

    /** Bodies that are not UTF-8, each hidden in the justification of an otherwise good submission. */
    static Stream<BadCall> notUtf8() {
        return Stream.of(
                        "c0af", // an overlong '/', which the parser reads as '/'
                        "e08080", // an overlong NUL
                        "f5808080", // beyond U+10FFFF, which the parser reads as lone surrogates
                        "eda080", // a surrogate, encoded
                        "e282", // a sequence cut short
                        "ff")
                .map(hex -> new BadCall(
                        "justification with bytes " + hex,
                        (cs, id) -> bytes(cs, justificationWithBytes(hex)),
                        400,
                        "malformed-json"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource({"badCalls", "scalarsOfAnotherType", "notUtf8"})
    void badCallGetsItsOwnProblem(BadCall bad) {
        Reply r = cs.send(bad.call().apply(cs, pendingId));
        assertThat(r.status()).as(r.body()).isEqualTo(bad.status());
        assertThat(r.problem()).isEqualTo(bad.slug());
        assertThat(r.header("Content-Type")).startsWith(Problem.MEDIA_TYPE);
    }

    @Test
    void unknownFieldIsNamedInTheProblem() {
        String body = ServerFixture.PII_EXPORT.replace("\"justification\"", "\"priority\": 1, \"justification\"");
        Reply r = cs.submit("deploy-bot", body);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.problem()).isEqualTo("unknown-field");
        assertThat(r.json().path("detail").asText()).contains("'priority'");
    }

    @Test
    void unknownQueryParameterIsNamedWithTheKnownOnes() {
        Reply r = cs.send(cs.as("bob", "/v1/ledger/entries?start=0&form=10").GET());
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.problem()).isEqualTo("unknown-query-parameter");
        assertThat(r.json().path("detail").asText()).isEqualTo("unknown query parameter 'form'; known: [start, end]");
        assertThat(cs.send(cs.as("bob", "/v1/ledger/entries?start=0&end=1&").GET())
                        .status())
                .isEqualTo(200);
        assertThat(cs.send(cs.as("bob", "/v1/requests?state=pending&limit=5").GET())
                        .status())
                .isEqualTo(200);
    }

    @Test
    void aValueOfTheWrongJsonTypeIsSaidInJsonsWordsNotJavas() {
        Reply array = cs.submit("deploy-bot", "[]");
        assertThat(array.status()).isEqualTo(400);
        assertThat(array.json().path("detail").asText()).isEqualTo("expected an object, not an array");

        Reply params =
                cs.submit("deploy-bot", ServerFixture.PII_EXPORT.replace("{\"table\": \"customers\"}", "\"str\""));
        assertThat(params.status()).as(params.body()).isEqualTo(400);
        assertThat(params.json().path("detail").asText()).isEqualTo("action.params: expected an object, not a string");
        // One problem type, one title, whichever way the value was wrong.
        Reply number = cs.submit("deploy-bot", ServerFixture.PII_EXPORT.replace("\"id\": \"customers\"", "\"id\": 42"));
        assertThat(number.status()).as(number.body()).isEqualTo(400);
        for (Reply r : List.of(array, params, number)) {
            assertThat(r.problem()).as(r.body()).isEqualTo("invalid-field");
            assertThat(r.json().path("title").asText()).as(r.body()).isEqualTo("Invalid field value");
        }
        assertThat(array.body() + params.body())
                .doesNotContain("io.countersign")
                .doesNotContain("jackson");
    }

    @Test
    void aScalarOfAnotherJsonTypeIsRefusedInJsonsWordsNotReadAsItsText() {
        Reply reason = cs.send(json(cs, "bob", reviews(pendingId), "{\"verdict\":\"approve\",\"reason\":12}"));
        assertThat(reason.json().path("detail").asText()).isEqualTo("reason: expected a string, not a number");

        Reply justification = cs.submit("deploy-bot", withJustification("false"));
        assertThat(justification.json().path("detail").asText())
                .isEqualTo("justification: expected a string, not false");

        Reply tag = cs.submit("deploy-bot", withTags("[\"pii\", 1]"));
        assertThat(tag.json().path("detail").asText()).isEqualTo("resource.tags[1]: expected a string, not a number");
    }

    @Test
    void aNullTagIsRefusedInJsonsWordsAtItsPlaceNotAsAJavaException() {
        for (String path : new String[] {"/v1/requests", "/v1/policy/evaluate"}) {
            Reply r = cs.send(json(cs, "deploy-bot", path, withTags("[\"pii\", null]")));
            assertThat(r.status()).as(r.body()).isEqualTo(400);
            assertThat(r.problem()).isEqualTo("invalid-field");
            assertThat(r.json().path("detail").asText()).isEqualTo("resource.tags[1]: expected a string, not null");
        }
    }

    @Test
    void aVerdictOrOutcomeStatusOfAnotherJsonTypeIsSaidInJsonsWordsAndAnUnknownOneNamesTheValues() {
        Reply number = cs.send(json(cs, "bob", reviews(pendingId), "{\"verdict\":12,\"reason\":\"x\"}"));
        assertThat(number.status()).as(number.body()).isEqualTo(400);
        assertThat(number.problem()).isEqualTo("invalid-field");
        assertThat(number.json().path("detail").asText()).isEqualTo("verdict: expected a string, not a number");

        Reply bool = cs.send(json(cs, "bob", reviews(pendingId), "{\"verdict\":true,\"reason\":\"x\"}"));
        assertThat(bool.json().path("detail").asText()).isEqualTo("verdict: expected a string, not true");

        Reply status = cs.send(json(cs, "deploy-bot", "/v1/requests/" + pendingId + "/outcome", "{\"status\":1.5}"));
        assertThat(status.status()).as(status.body()).isEqualTo(400);
        assertThat(status.json().path("detail").asText()).isEqualTo("status: expected a string, not a number");

        Reply maybe = cs.send(json(cs, "bob", reviews(pendingId), "{\"verdict\":\"maybe\",\"reason\":\"x\"}"));
        assertThat(maybe.status()).isEqualTo(400);
        assertThat(maybe.problem()).isEqualTo("invalid-field");
        assertThat(maybe.json().path("detail").asText())
                .isEqualTo("verdict: verdict must be approve or deny; got 'maybe'");
    }

    @Test
    void aBodyThatIsNotUtf8IsMalformedAndSaysWhereButUtf8BeyondAsciiIsRead() {
        byte[] body = justificationWithBytes("c0af");
        Reply r = cs.send(bytes(cs, body));
        assertThat(r.json().path("detail").asText())
                .isEqualTo("the body is not valid UTF-8 (at byte offset " + indexOf(body, (byte) 0xc0) + ")");

        String accented = ServerFixture.PII_EXPORT.replace("churn analysis", "analyse de l'attrition, été 😀");
        Reply read = cs.post("deploy-bot", "/v1/policy/evaluate", accented);
        assertThat(read.status()).as(read.body()).isEqualTo(200);
    }

    @Test
    void missingAuthorizationAsksForBearerCredentials() {
        Reply r = cs.send(unauthenticated(cs, pendingId));
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.header("WWW-Authenticate")).startsWith("Bearer");
    }

    @Test
    void bodyOverOneMibWithContentLengthIsTooLarge() {
        Reply r = cs.send(cs.as("deploy-bot", "/v1/requests")
                .header("Content-Type", "application/json")
                .POST(BodyPublishers.ofString(oversized())));
        assertThat(r.status()).isEqualTo(413);
        assertThat(r.problem()).isEqualTo("body-too-large");
    }

    @Test
    void chunkedBodyOverOneMibIsTooLarge() {
        BodyPublisher chunked = BodyPublishers.ofInputStream(
                () -> new ByteArrayInputStream(oversized().getBytes()));
        assertThat(chunked.contentLength()).isNegative();
        Reply r = cs.send(cs.as("deploy-bot", "/v1/requests")
                .header("Content-Type", "application/json")
                .POST(chunked));
        assertThat(r.status()).isEqualTo(413);
        assertThat(r.problem()).isEqualTo("body-too-large");
    }

    @Test
    void aBodyFramedAgainstItsHeadersIsUnreadableNotAServerError() throws IOException {
        String badChunk = "POST /v1/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + cs.key("deploy-bot")
                + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + "ZZ\r\n{}\r\n0\r\n\r\n";
        String reply = raw(badChunk, "}");
        assertThat(reply).startsWith("HTTP/1.1 400").contains("urn:countersign:problem:unreadable-body");
    }

    @Test
    void headGetsHeadersAndNoContentSoTheNextResponseOnTheConnectionIsIntact() throws IOException {
        String twoRequests = "HEAD /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n"
                + "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        String reply = raw(twoRequests, "{\"status\":\"ok\"}");
        String[] responses = reply.split("(?=HTTP/1\\.1 )");
        assertThat(responses).as(reply).hasSize(3);
        assertThat(responses[0]).startsWith("HTTP/1.1 404").endsWith("\r\n\r\n");
        assertThat(responses[1]).startsWith("HTTP/1.1 200").endsWith("\r\n\r\n");
        assertThat(responses[2]).startsWith("HTTP/1.1 200").endsWith("{\"status\":\"ok\"}");
    }

    @Test
    void aWrongMethodOnAKnownPathIsNotAllowedAndAllowNamesTheMethodsThatAre() {
        List<Map.Entry<String, HttpRequest.Builder>> calls = List.of(
                Map.entry("GET, HEAD, POST", cs.as("bob", "/v1/requests").DELETE()),
                Map.entry("POST", cs.as("bob", reviews(pendingId)).GET()),
                Map.entry("GET, HEAD", cs.as("bob", "/healthz").PUT(BodyPublishers.noBody())),
                Map.entry("GET, HEAD", cs.as("bob", "/v1/requests/" + pendingId).PUT(BodyPublishers.noBody())),
                Map.entry(
                        "GET, HEAD, POST, DELETE",
                        cs.as("deploy-bot", "/mcp/notes").PUT(BodyPublishers.noBody())));
        calls.forEach(call -> {
            Reply r = cs.send(call.getValue());
            assertThat(r.status()).as(r.body()).isEqualTo(405);
            assertThat(r.problem()).isEqualTo("method-not-allowed");
            assertThat(r.header("Allow")).isEqualTo(call.getKey());
        });
    }

    @Test
    void headOnAGetRouteGetsTheStatusAndHeadersGetWouldGet() {
        String id = "/v1/requests/" + pendingId;
        for (String path : new String[] {
            "/v1/requests",
            id,
            id + "/events",
            id + "/deliveries",
            "/v1/deliveries",
            "/v1/ledger/key",
            "/v1/ledger/entries",
            "/v1/ledger/proofs/inclusion",
            "/v1/requests/" + unknownId(pendingId),
            "/v1/requests/req_nope",
            "/openapi.yaml",
            "/healthz",
            "/readyz"
        }) {
            Reply get = cs.send(cs.as("deploy-bot", path).GET());
            Reply head = cs.send(cs.as("deploy-bot", path).HEAD());
            assertThat(head.status()).as(path).isEqualTo(get.status());
            assertThat(withoutDate(head)).as(path).isEqualTo(withoutDate(get));
            assertThat(head.body()).isEmpty();
        }
        Reply anonymous = cs.send(HttpRequest.newBuilder(cs.uri(id)).HEAD());
        assertThat(anonymous.status()).isEqualTo(401);
        assertThat(anonymous.header("WWW-Authenticate")).startsWith("Bearer");
        assertThat(withoutDate(anonymous))
                .isEqualTo(
                        withoutDate(cs.send(HttpRequest.newBuilder(cs.uri(id)).GET())));
    }

    private static Map<String, List<String>> withoutDate(Reply r) {
        Map<String, List<String>> headers = new TreeMap<>(r.headers().map());
        headers.remove("date");
        return headers;
    }

    @Test
    void headOnApiGetRoutesHasNoContentSoTheNextResponseOnTheConnectionIsIntact() throws IOException {
        String request = "HEAD /v1/requests/" + pendingId + " HTTP/1.1\r\nHost: x\r\n";
        String requests = request + "Authorization: Bearer " + cs.key("deploy-bot") + "\r\n\r\n"
                + request + "\r\n" // no key
                + "HEAD /openapi.yaml HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        String reply = raw(requests, "{\"status\":\"ok\"}");
        String[] responses = reply.split("(?=HTTP/1\\.1 )");
        assertThat(responses).as(reply).hasSize(4);
        assertThat(responses[0])
                .startsWith("HTTP/1.1 200")
                .containsIgnoringCase("Content-Type: application/json")
                .endsWith("\r\n\r\n");
        assertThat(responses[1]).startsWith("HTTP/1.1 401").endsWith("\r\n\r\n");
        assertThat(responses[2])
                .startsWith("HTTP/1.1 200")
                .containsIgnoringCase("Content-Type: application/yaml")
                .endsWith("\r\n\r\n");
        assertThat(responses[3]).startsWith("HTTP/1.1 200").endsWith("{\"status\":\"ok\"}");
    }

    @Test
    void headWhereOnlyPostIsServedGets405WithoutContentSoTheNextResponseIsIntact() throws IOException {
        String twoRequests = "HEAD /v1/policy/evaluate HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        String reply = raw(twoRequests, "{\"status\":\"ok\"}");
        String[] responses = reply.split("(?=HTTP/1\\.1 )");
        assertThat(responses).as(reply).hasSize(2);
        assertThat(responses[0])
                .startsWith("HTTP/1.1 405")
                .containsIgnoringCase("Allow: POST\r\n")
                .endsWith("\r\n\r\n");
        assertThat(responses[1]).startsWith("HTTP/1.1 200").endsWith("{\"status\":\"ok\"}");
    }

    /** Writes {@code request} as is on a new connection and reads until what was read ends with {@code last}. */
    private String raw(String request, String last) throws IOException {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", cs.server().port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            java.io.ByteArrayOutputStream read = new java.io.ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            for (int n;
                    !read.toString(java.nio.charset.StandardCharsets.UTF_8).endsWith(last)
                            && (n = s.getInputStream().read(buf)) >= 0; ) read.write(buf, 0, n);
            return read.toString(java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    @Test
    void bodyOfExactlyOneMibIsReadNotRefusedForSize() {
        String body = ServerFixture.PII_EXPORT.replace("churn analysis", "");
        body = body + " ".repeat(MIB - body.length());
        Reply r = cs.post("deploy-bot", "/v1/policy/evaluate", body);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
    }

    // ---- bad calls -------------------------------------------------------------------------

    private static HttpRequest.Builder submit(ServerFixture cs, String body) {
        return json(cs, "deploy-bot", "/v1/requests", body);
    }

    private static HttpRequest.Builder json(ServerFixture cs, String who, String path, String body) {
        return cs.as(who, path).header("Content-Type", "application/json").POST(BodyPublishers.ofString(body));
    }

    private static HttpRequest.Builder bytes(ServerFixture cs, byte[] body) {
        return cs.as("deploy-bot", "/v1/requests")
                .header("Content-Type", "application/json")
                .POST(BodyPublishers.ofByteArray(body));
    }

    private static HttpRequest.Builder typed(ServerFixture cs, String type) {
        return cs.as("deploy-bot", "/v1/requests")
                .header("Content-Type", type)
                .POST(BodyPublishers.ofString(ServerFixture.PII_EXPORT));
    }

    private static HttpRequest.Builder idempotent(ServerFixture cs, String key) {
        return submit(cs, ServerFixture.READ_QUERY).header("Idempotency-Key", key);
    }

    private static HttpRequest.Builder unauthenticated(ServerFixture cs, String id) {
        return HttpRequest.newBuilder(cs.uri(reviews(id)))
                .header("Content-Type", "application/json")
                .POST(BodyPublishers.ofString("{\"verdict\":\"approve\",\"reason\":\"x\"}"));
    }

    private static HttpRequest.Builder basic(ServerFixture cs, String id) {
        return unauthenticated(cs, id).header("Authorization", "Basic " + cs.key("bob"));
    }

    private static HttpRequest.Builder withKey(ServerFixture cs, String id, String key) {
        return unauthenticated(cs, id).header("Authorization", "Bearer " + key);
    }

    private static String reviews(String id) {
        return "/v1/requests/" + id + "/reviews";
    }

    /** A well-formed id that differs from {@code id} in its last character. */
    private static String unknownId(String id) {
        char last = id.charAt(id.length() - 1);
        return id.substring(0, id.length() - 1) + (last == '0' ? '1' : '0');
    }

    private static String duplicateKey() {
        return ServerFixture.PII_EXPORT.replace("\"justification\"", "\"justification\": \"a\", \"justification\"");
    }

    private static String actionOfType(String type) {
        return ServerFixture.PII_EXPORT.replace("db.export", type);
    }

    private static String withParam(String number) {
        return ServerFixture.PII_EXPORT.replace("\"table\": \"customers\"", "\"rows\": " + number);
    }

    /** An object {@code levels} deep: {"a":{"a":...1...}}. */
    private static String nested(int levels) {
        return "{\"a\":".repeat(levels) + "1" + "}".repeat(levels);
    }

    private static String withContext(String context) {
        return ServerFixture.PII_EXPORT.replace("\"justification\"", "\"context\": " + context + ", \"justification\"");
    }

    private static String withJustification(String json) {
        return ServerFixture.PII_EXPORT.replace("\"churn analysis\"", json);
    }

    private static String withTags(String json) {
        return ServerFixture.PII_EXPORT.replace("[\"pii\"]", json);
    }

    /** A good submission whose justification holds the bytes {@code hex} between "a" and "b". */
    private static byte[] justificationWithBytes(String hex) {
        // ISO-8859-1 writes each char below U+0100 as the one byte of that value; the rest is ASCII.
        String bytes = new String(java.util.HexFormat.of().parseHex(hex), java.nio.charset.StandardCharsets.ISO_8859_1);
        return ServerFixture.PII_EXPORT
                .replace("churn analysis", "a" + bytes + "b")
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static int indexOf(byte[] bytes, byte b) {
        for (int i = 0; i < bytes.length; i++) if (bytes[i] == b) return i;
        return -1;
    }

    private static String oversized() {
        return ServerFixture.PII_EXPORT.replace("churn analysis", "x".repeat(MIB));
    }
}
