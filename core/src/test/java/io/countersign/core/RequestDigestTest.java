package io.countersign.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

class RequestDigestTest {
    static final JsonNodeFactory F = JsonNodeFactory.instance;
    static final Principal AGENT = Principal.agent("agent-7", "olivia");
    static final Resource ORDERS = new Resource("table", "orders", "prod", List.of("pii"), "sales");

    static ObjectNode params() {
        return F.objectNode().put("table", "orders").put("limit", 10);
    }

    static ActionRequest request(ObjectNode params, Resource resource, String onBehalfOf) {
        return new ActionRequest(new Action("db.export", params), resource, "quarterly report", onBehalfOf, null);
    }

    static final String DIGEST = RequestDigest.of(AGENT, request(params(), ORDERS, "hugo"));

    @Test
    void isSixtyFourLowerCaseHexDigits() {
        assertThat(DIGEST).matches("[0-9a-f]{64}");
    }

    @Test
    void isStableForTheSameRequest() {
        assertThat(RequestDigest.of(AGENT, request(params(), ORDERS, "hugo"))).isEqualTo(DIGEST);
    }

    @Test
    void changesWhenParamsChange() {
        assertThat(RequestDigest.of(AGENT, request(params().put("limit", 11), ORDERS, "hugo")))
                .isNotEqualTo(DIGEST);
    }

    @Test
    void changesWhenTheActionTypeChanges() {
        ActionRequest copy = new ActionRequest(new Action("db.copy", params()), ORDERS, "", "hugo", null);

        assertThat(RequestDigest.of(AGENT, copy)).isNotEqualTo(DIGEST);
    }

    @Test
    void changesWhenTheResourceChanges() {
        List<Resource> others = List.of(
                new Resource("table", "customers", "prod", List.of("pii"), "sales"),
                new Resource("view", "orders", "prod", List.of("pii"), "sales"),
                new Resource("table", "orders", "staging", List.of("pii"), "sales"),
                new Resource("table", "orders", "prod", List.of(), "sales"),
                new Resource("table", "orders", "prod", List.of("pii"), "hr"));

        assertThat(others)
                .allSatisfy(r -> assertThat(RequestDigest.of(AGENT, request(params(), r, "hugo")))
                        .isNotEqualTo(DIGEST));
    }

    @Test
    void changesWhenTheRequesterChanges() {
        ActionRequest same = request(params(), ORDERS, "hugo");

        assertThat(RequestDigest.of(Principal.agent("agent-8", "olivia"), same)).isNotEqualTo(DIGEST);
        assertThat(RequestDigest.of(Principal.agent("agent-7", "oscar"), same)).isNotEqualTo(DIGEST);
    }

    @Test
    void changesWhenOnBehalfOfChanges() {
        assertThat(RequestDigest.of(AGENT, request(params(), ORDERS, "hanna"))).isNotEqualTo(DIGEST);
        assertThat(RequestDigest.of(AGENT, request(params(), ORDERS, null))).isNotEqualTo(DIGEST);
    }

    @Test
    void ignoresJustificationAndContext() {
        ActionRequest reworded = new ActionRequest(
                new Action("db.export", params()),
                ORDERS,
                "another reason",
                "hugo",
                F.objectNode().put("trace", "t1"));

        assertThat(RequestDigest.of(AGENT, reworded)).isEqualTo(DIGEST);
    }

    @Test
    void ignoresTheOrderOfParamKeys() {
        ObjectNode reordered = F.objectNode().put("limit", 10).put("table", "orders");

        assertThat(RequestDigest.of(AGENT, request(reordered, ORDERS, "hugo"))).isEqualTo(DIGEST);
    }

    @Test
    void matchesIgnoringHexCase() {
        assertThat(RequestDigest.matches(DIGEST, DIGEST.toUpperCase(Locale.ROOT)))
                .isTrue();
        assertThat(RequestDigest.matches(DIGEST, DIGEST)).isTrue();
    }

    @Test
    void doesNotMatchAnotherDigest() {
        String other = RequestDigest.of(AGENT, request(params(), ORDERS, null));

        assertThat(RequestDigest.matches(DIGEST, other)).isFalse();
        assertThat(RequestDigest.matches(DIGEST, DIGEST.substring(1))).isFalse();
        assertThat(RequestDigest.matches(DIGEST, "")).isFalse();
    }

    @Test
    void doesNotMatchNull() {
        assertThat(RequestDigest.matches(DIGEST, null)).isFalse();
    }
}
