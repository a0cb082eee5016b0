package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.core.Principal;
import io.countersign.server.config.ServerConfig;
import io.countersign.server.identity.OidcFixture.Reply;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** People and agents with tokens from a real IdP, through the real server, under the same separation of duties as API keys. */
class OidcReviewTest extends OidcServerTest {
    @Test
    void agentWithAClientCredentialsTokenSubmitsAsItsDeclaredIdentity() {
        Reply r = cs.submit(cs.clientCredentialsToken("deploy-bot"), OidcFixture.PII_EXPORT);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.state()).isEqualTo("pending");
        assertThat(r.json().path("requester").path("id").asText()).isEqualTo("deploy-bot");
        assertThat(r.json().path("requester").path("owner").asText()).isEqualTo("alice");
    }

    @Test
    void peopleWithTokensApproveAndTheirGroupClaimCountsForTheQuorum() {
        String id = submitted();
        Reply byBob = cs.review(cs.personToken("bob", "data-owners"), id, "approve", "ticket 12");
        assertThat(byBob.status()).as(byBob.body()).isEqualTo(200);
        assertThat(byBob.state()).isEqualTo("pending");
        Reply byCarol = cs.review(cs.apiKey("carol"), id, "approve", "ticket 12");
        assertThat(byCarol.status()).as(byCarol.body()).isEqualTo(200);
        assertThat(byCarol.state()).isEqualTo("approved");
        assertThat(byCarol.json().path("reviews").findValuesAsText("reviewer")).containsExactly("bob", "carol");
    }

    @Test
    void aPersonWhoseTokenLacksTheGroupIsNotEligible() {
        String id = submitted();
        Reply byErin = cs.review(cs.personToken("erin", "sales"), id, "approve", "why not");
        assertThat(byErin.status()).isEqualTo(403);
        assertThat(byErin.problem()).isEqualTo("ineligible-reviewer");
    }

    @Test
    void theOwnerIsRefusedWithATokenExactlyAsWithAnApiKey() {
        String id = submitted();
        Reply byToken = cs.review(cs.personToken("alice-sub", "data-owners"), id, "approve", "mine");
        Reply byKey = cs.review(cs.apiKey("alice"), id, "approve", "mine");
        for (Reply r : List.of(byToken, byKey)) {
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.problem()).isEqualTo("owner-review");
        }
        Reply events = cs.get(cs.apiKey("carol"), "/v1/requests/" + id + "/events");
        List<String> refusedActors = new java.util.ArrayList<>();
        events.json().path("events").forEach(e -> {
            if (e.path("type").asText().equals("review.refused"))
                refusedActors.add(e.path("actor").asText());
        });
        assertThat(refusedActors).as(events.body()).containsExactly("alice", "alice");
    }

    @Test
    void aVerifiedEmailLinksAnotherSubjectToTheDeclaredPerson() {
        String id = submitted();
        String token = cs.token(
                "alice-at-another-idp-account",
                Map.of("email", "Alice@Example.com", "email_verified", true, "groups", List.of("data-owners")));
        Reply r = cs.review(token, id, "approve", "mine");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.problem()).isEqualTo("owner-review");
    }

    /** mallory's token is mallory's, not alice's (that would be owner-review); with no verified email, no person's either. */
    @Test
    void anUnverifiedEmailLinksNoOne() {
        String id = submitted();
        String token = cs.token(
                "mallory",
                Map.of("email", "alice@example.com", "email_verified", false, "groups", List.of("data-owners")));
        Reply r = cs.review(token, id, "approve", "looks fine");
        assertThat(r.status()).as(r.body()).isEqualTo(403);
        assertThat(r.problem()).isEqualTo("non-human-reviewer");
        assertThat(r.json().path("detail").asText()).startsWith("mallory is a service");
        assertThat(cs.server().identities().resolve(LinkKind.EMAIL, "alice@example.com"))
                .map(Principal::id)
                .contains("alice");
    }

    /** The same token where human_claim marks it a person's: it reviews, as mallory. */
    @Test
    void anUnverifiedEmailLinksNoOneEvenWhenTheTokenIsAPersons(@TempDir Path other) {
        try (OidcFixture marked =
                new OidcFixture(other, b -> b.humanClaim(new ServerConfig.ClaimMatch("person", "yes")))) {
            String id = marked.submit(marked.clientCredentialsToken("deploy-bot"), OidcFixture.PII_EXPORT)
                    .json()
                    .path("id")
                    .asText();
            String token = marked.token(
                    "mallory",
                    Map.of(
                            "person",
                            "yes",
                            "email",
                            "alice@example.com",
                            "email_verified",
                            false,
                            "groups",
                            List.of("data-owners")));
            Reply r = marked.review(token, id, "approve", "looks fine");
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.json().path("reviews").findValuesAsText("reviewer")).containsExactly("mallory");
        }
    }

    @Test
    void anAgentKnownOnlyToTheIdpIsOwnedByThePersonItsOwnerClaimNames() {
        String agent = cs.token("ci-agent", Map.of("kind", "agent", "owner", "alice-sub"));
        Reply submitted = cs.submit(agent, OidcFixture.PII_EXPORT);
        assertThat(submitted.status()).as(submitted.body()).isEqualTo(201);
        assertThat(submitted.json().path("requester").path("kind").asText()).isEqualTo("agent");
        assertThat(submitted.json().path("requester").path("owner").asText()).isEqualTo("alice");
        String id = submitted.json().path("id").asText();
        Reply byOwner = cs.review(cs.personToken("alice-sub", "data-owners"), id, "approve", "mine");
        assertThat(byOwner.problem()).isEqualTo("owner-review");
    }

    @Test
    void aClientCredentialsTokenOfAnUndeclaredClientIsAnAgent() {
        String token = cs.token("ci-bot", Map.of("cid", "ci-bot", "owner", "alice@example.com"));
        Reply r = cs.submit(token, OidcFixture.PII_EXPORT);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.json().path("requester").path("kind").asText()).isEqualTo("agent");
        assertThat(r.json().path("requester").path("owner").asText()).isEqualTo("alice");
    }

    @Test
    void groupsMayComeFromANestedClaim(@TempDir Path other) {
        try (OidcFixture keycloakStyle = new OidcFixture(other, b -> b.groupsClaim("realm_access.roles"))) {
            String id = keycloakStyle
                    .submit(keycloakStyle.apiKey("deploy-bot"), OidcFixture.PII_EXPORT)
                    .json()
                    .path("id")
                    .asText();
            String token = keycloakStyle.token(
                    "bob",
                    Map.of(
                            "realm_access",
                            Map.of("roles", List.of("data-owners")),
                            "email",
                            "bob@example.com",
                            "email_verified",
                            true));
            assertThat(keycloakStyle.review(token, id, "approve", "ok").status())
                    .isEqualTo(200);
        }
    }

    @Test
    void anIssuerForDeclaredIdentitiesOnlyRefusesEveryoneElse(@TempDir Path other) {
        try (OidcFixture strict = new OidcFixture(other, b -> b.allowUnlinked(false))) {
            Reply stranger = strict.get(strict.personToken("bob", "data-owners"), "/v1/requests");
            assertThat(stranger.status()).isEqualTo(401);
            assertThat(stranger.problem()).isEqualTo("token-unknown-principal");
            assertThat(strict.get(strict.personToken("alice-sub"), "/v1/requests")
                            .status())
                    .isEqualTo(200);
        }
    }

    @Test
    void anAgentTokenWithoutAnOwnerIsRefused() {
        Reply r = cs.submit(cs.token("stray-agent", Map.of("kind", "agent")), OidcFixture.PII_EXPORT);
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.problem()).isEqualTo("token-unknown-principal");
    }

    @Test
    void aTokenMayNotClaimADeclaredIdWithoutALink() {
        Reply r = cs.get(cs.personToken("carol", "security"), "/v1/requests");
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.problem()).isEqualTo("token-unknown-principal");
    }

    @Test
    void aPersonCannotSubmitWithATokenAndAnAgentCannotReview() {
        Reply byPerson = cs.submit(cs.personToken("bob", "data-owners"), OidcFixture.PII_EXPORT);
        assertThat(byPerson.problem()).isEqualTo("wrong-principal-kind");
        String id = submitted();
        Reply byAgent = cs.review(cs.clientCredentialsToken("deploy-bot"), id, "approve", "me");
        assertThat(byAgent.problem()).isEqualTo("non-human-reviewer");
    }

    @Test
    void apiKeysStillWorkBesideTokens() {
        Reply r = cs.submit(cs.apiKey("deploy-bot"), OidcFixture.PII_EXPORT);
        assertThat(r.status()).isEqualTo(201);
        assertThat(cs.get("cs_not-a-key", "/v1/requests").problem()).isEqualTo("invalid-credentials");
    }

    private String submitted() {
        Reply r = cs.submit(cs.clientCredentialsToken("deploy-bot"), OidcFixture.PII_EXPORT);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.json().path("id").asText();
    }
}
