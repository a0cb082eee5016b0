package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.core.Principal;
import io.countersign.core.Refusal;
import io.countersign.core.RefusedException;
import io.countersign.core.RequestId;
import io.countersign.core.RequestService;
import io.countersign.core.Verdict;
import io.countersign.server.identity.OidcFixture.Reply;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One person, one principal: the resolver the Slack, Teams and email channels call turns their
 * user into the same principal the API sees, so separation of duties holds on every channel.
 */
class IdentityLinksTest extends OidcServerTest {
    Identities identities;
    RequestService service;

    @BeforeEach
    void lookUp() {
        identities = cs.server().identities();
        service = cs.server().service();
    }

    @Test
    void everyDeclaredLinkOfAPersonResolvesToTheSamePrincipal() {
        assertThat(List.of(
                        identities.resolve(LinkKind.SLACK, "U0ALICE"),
                        identities.resolve(LinkKind.TEAMS, "29:alice"),
                        identities.resolve(LinkKind.EMAIL, "Alice@Example.COM"),
                        identities.resolve(LinkKind.OIDC, cs.issuer + "#alice-sub")))
                .allSatisfy(p -> assertThat(p).map(Principal::id).contains("alice"));
    }

    @Test
    void aChannelUserLinkedToNoOneIsNobody() {
        assertThat(identities.resolve(LinkKind.SLACK, "U0NOBODY")).isEmpty();
        assertThat(identities.resolve(LinkKind.EMAIL, "nobody@example.com")).isEmpty();
        assertThat(identities.resolve(LinkKind.TEAMS, "")).isEmpty();
    }

    @Test
    void theOwnerComingThroughSlackIsRefusedAsTheOwner() {
        RequestId id = submitted();
        Principal fromSlack = identities.resolve(LinkKind.SLACK, "U0ALICE").orElseThrow();
        assertThatThrownBy(() -> service.review(id, fromSlack, Verdict.APPROVE, "mine", "slack", null))
                .isInstanceOfSatisfying(
                        RefusedException.class, e -> assertThat(e.refusal()).isEqualTo(Refusal.OWNER_REVIEW));
    }

    @Test
    void aPersonApprovingOnTwoChannelsCountsOnce() {
        RequestId id = submitted();
        Reply byToken = cs.review(
                cs.token(
                        "bob",
                        Map.of(
                                "groups",
                                List.of("data-owners"),
                                "email",
                                "bob@example.com",
                                "email_verified",
                                true,
                                "slack_id",
                                "U0BOB")),
                id.value(),
                "approve",
                "ok");
        assertThat(byToken.status()).as(byToken.body()).isEqualTo(200);
        Principal bobOnSlack = identities.resolve(LinkKind.SLACK, "U0BOB").orElseThrow();
        assertThat(bobOnSlack.id()).isEqualTo("bob");
        assertThatThrownBy(() -> service.review(id, bobOnSlack, Verdict.APPROVE, "again", "slack", null))
                .isInstanceOfSatisfying(
                        RefusedException.class, e -> assertThat(e.refusal()).isEqualTo(Refusal.ALREADY_REVIEWED));
    }

    @Test
    void aPersonKnownOnlyToTheIdpIsLinkedByTheirVerifiedEmailAndSlackClaim() {
        String token = cs.token(
                "erin",
                Map.of(
                        "groups",
                        List.of("data-owners"),
                        "email",
                        "erin@example.com",
                        "email_verified",
                        true,
                        "slack_id",
                        "U0ERIN"));
        assertThat(identities.resolve(LinkKind.EMAIL, "erin@example.com")).isEmpty();
        assertThat(cs.get(token, "/v1/requests").status()).isEqualTo(200);
        for (var link : List.of(
                Map.entry(LinkKind.EMAIL, "erin@example.com"),
                Map.entry(LinkKind.SLACK, "U0ERIN"),
                Map.entry(LinkKind.OIDC, cs.issuer + "#erin"))) {
            Principal p = identities.resolve(link.getKey(), link.getValue()).orElseThrow();
            assertThat(p.id()).isEqualTo("erin");
            assertThat(p.groups()).containsExactly("data-owners");
        }
        RequestId id = submitted();
        Principal erinByEmail =
                identities.resolve(LinkKind.EMAIL, "erin@example.com").orElseThrow();
        assertThat(service.review(id, erinByEmail, Verdict.APPROVE, "ok", "email", null)
                        .reviews())
                .extracting(r -> r.reviewer())
                .containsExactly("erin");
    }

    @Test
    void aTokenCannotTakeOverADeclaredLink() {
        String token = cs.token("mallory", Map.of("groups", List.of("data-owners"), "slack_id", "U0CAROL"));
        assertThat(cs.get(token, "/v1/requests").status()).isEqualTo(200);
        assertThat(identities.resolve(LinkKind.SLACK, "U0CAROL"))
                .map(Principal::id)
                .contains("carol");
    }

    @Test
    void tokenGroupsAddToTheDeclaredOnes() {
        String token = cs.token("alice-sub", Map.of("groups", List.of("release-managers")));
        assertThat(cs.get(token, "/v1/requests").status()).isEqualTo(200);
        assertThat(identities.find("alice").orElseThrow().groups())
                .containsExactlyInAnyOrder("engineering", "data-owners", "release-managers");
    }

    private RequestId submitted() {
        Reply r = cs.submit(cs.apiKey("deploy-bot"), OidcFixture.PII_EXPORT);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return RequestId.parse(r.json().path("id").asText());
    }
}
