package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.server.config.ServerConfig;
import io.countersign.server.identity.OidcFixture.Reply;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a token that no declared identity links to is, when it carries no agent marker: a person
 * only on positive evidence (a verified email, or {@code human_claim} when configured), else a
 * service, which may submit but never review. A machine's token without the markers the providers
 * use for one (an Entra ID app token without {@code idtyp}, a CI system's token) must not approve.
 */
class UndeclaredTokenKindTest extends OidcServerTest {
    @Test
    void anUndeclaredTokenWithNoVerifiedEmailCannotReviewWhateverItsGroups() {
        String id = submitted(cs);
        String before = cs.get(cs.apiKey("carol"), "/v1/requests/" + id).body();
        String ciRunner = cs.token("ci-runner", Map.of("groups", List.of("data-owners", "security")));

        Reply r = cs.review(ciRunner, id, "approve", "pipeline says ok");

        assertThat(r.status()).as(r.body()).isEqualTo(403);
        assertThat(r.problem()).isEqualTo("non-human-reviewer");
        assertThat(r.json().path("detail").asText())
                .startsWith("ci-runner is a service; only humans review")
                .contains("human_claim", "verified email", "links.oidc")
                .doesNotContain(ciRunner);
        assertThat(cs.get(cs.apiKey("carol"), "/v1/requests/" + id).body())
                .as("the request is as it was")
                .isEqualTo(before);
        assertThat(eventTypes(cs, id)).containsExactly("request.submitted", "request.decided", "review.refused");
        assertThat(cs.server().identities().find("ci-runner"))
                .map(Principal::kind)
                .contains(PrincipalKind.SERVICE);
    }

    @Test
    void anUnverifiedEmailDoesNotMakeAPerson() {
        String id = submitted(cs);
        String token = cs.token(
                "ci-runner",
                Map.of("groups", List.of("data-owners"), "email", "ci@example.com", "email_verified", false));
        Reply r = cs.review(token, id, "approve", "ok");
        assertThat(r.status()).as(r.body()).isEqualTo(403);
        assertThat(r.problem()).isEqualTo("non-human-reviewer");
    }

    @Test
    void anUndeclaredTokenWithAVerifiedEmailIsAPersonAndReviews() {
        String id = submitted(cs);
        String bob = cs.token(
                "bob-sub",
                Map.of("groups", List.of("data-owners"), "email", "bob@example.com", "email_verified", true));
        Reply r = cs.review(bob, id, "approve", "ticket 12");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().path("reviews").findValuesAsText("reviewer")).containsExactly("bob-sub");
    }

    @Test
    void aServiceTokenMaySubmitAndTeachesNoLinkButItsSubject() {
        String ciRunner = cs.token("ci-runner", Map.of("slack_id", "U0NOBODY"));
        Reply r = cs.submit(ciRunner, OidcFixture.PII_EXPORT);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.json().path("requester").path("id").asText()).isEqualTo("ci-runner");
        assertThat(r.json().path("requester").path("kind").asText()).isEqualTo("service");
        assertThat(cs.server().identities().resolve(LinkKind.SLACK, "U0NOBODY"))
                .as("a Slack id in a machine's token is not the machine's")
                .isEmpty();
        assertThat(cs.server().identities().resolve(LinkKind.OIDC, cs.issuer + "#ci-runner"))
                .map(Principal::id)
                .contains("ci-runner");
    }

    @Test
    void anAgentMarkerStillMakesAnAgentAndADeclaredIdentityKeepsItsKind() {
        Reply agent = cs.submit(cs.token("etl", Map.of("kind", "agent", "owner", "alice")), OidcFixture.PII_EXPORT);
        assertThat(agent.json().path("requester").path("kind").asText())
                .as(agent.body())
                .isEqualTo("agent");
        String id = submitted(cs);
        Reply alice = cs.review(cs.token("alice-sub", Map.of()), id, "approve", "mine");
        assertThat(alice.problem())
                .as("alice-sub is declared alice, a human, with no email in her token")
                .isEqualTo("owner-review");
    }

    /** Say, an app role only users may be given (Entra ID: allowed member types "Users/Groups"). */
    @Test
    void withHumanClaimOnlyATokenMatchingItReviews(@TempDir Path other) {
        try (OidcFixture byRole =
                new OidcFixture(other, b -> b.humanClaim(new ServerConfig.ClaimMatch("roles", "reviewer")))) {
            String id = submitted(byRole);
            String person = byRole.token(
                    "erin-oid", Map.of("roles", List.of("reader", "reviewer"), "groups", List.of("data-owners")));
            Reply byPerson = byRole.review(person, id, "approve", "ok");
            assertThat(byPerson.status()).as(byPerson.body()).isEqualTo(200);

            String withEmailOnly = byRole.token(
                    "app-oid",
                    Map.of("groups", List.of("data-owners"), "email", "app@example.com", "email_verified", true));
            Reply byEmailOnly = byRole.review(withEmailOnly, id, "approve", "ok");
            assertThat(byEmailOnly.status()).as(byEmailOnly.body()).isEqualTo(403);
            assertThat(byEmailOnly.problem()).isEqualTo("non-human-reviewer");

            String otherRole = byRole.token("app-oid", Map.of("roles", "reader", "groups", List.of("data-owners")));
            assertThat(byRole.review(otherRole, id, "approve", "ok").problem()).isEqualTo("non-human-reviewer");
            Reply after = byRole.get(byRole.apiKey("carol"), "/v1/requests/" + id);
            assertThat(after.state()).isEqualTo("pending");
            assertThat(after.json().path("reviews").findValuesAsText("reviewer"))
                    .containsExactly("erin-oid");
        }
    }

    private static String submitted(OidcFixture fixture) {
        Reply r = fixture.submit(fixture.clientCredentialsToken("deploy-bot"), OidcFixture.PII_EXPORT);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.json().path("id").asText();
    }

    private static List<String> eventTypes(OidcFixture fixture, String id) {
        List<String> types = new ArrayList<>();
        for (JsonNode e : fixture.get(fixture.apiKey("carol"), "/v1/requests/" + id + "/events")
                .json()
                .path("events")) types.add(e.path("type").asText());
        return types;
    }
}
