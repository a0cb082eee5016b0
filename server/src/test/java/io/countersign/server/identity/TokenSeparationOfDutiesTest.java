package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.JWTClaimsSet;
import io.countersign.core.LearnedLink;
import io.countersign.core.Principal;
import io.countersign.core.json.CanonicalJson;
import io.countersign.core.json.Json;
import io.countersign.ledger.SigningKey;
import io.countersign.server.config.ConfigException;
import io.countersign.server.config.ServerConfig;
import io.countersign.server.identity.OidcFixture.Reply;
import io.countersign.store.LedgerSettings;
import io.countersign.store.SqliteStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Separation of duties when people and agents come with tokens: the agent's owner is the principal
 * the owner's own token is, whichever token arrives first, and a person holds one quorum slot
 * however many ways (key, token, link claim) they arrive.
 */
class TokenSeparationOfDutiesTest extends OidcServerTest {
    @TempDir
    Path other;

    @Test
    void theOwnerNamedByEmailIsRefusedWhenTheirTokenCameFirst() {
        String bobsToken = bobsToken();
        assertThat(cs.get(bobsToken, "/v1/requests").status()).isEqualTo(200);
        ownerCannotApprove("bob@example.com", bobsToken, "bob-sub");
    }

    @Test
    void anAgentNamingAnUnseenOwnerByEmailIsRefusedUntilTheOwnersTokenIsSeen() {
        Reply early = cs.submit(etlAgent("bob@example.com"), OidcFixture.PII_EXPORT);
        assertThat(early.status()).as(early.body()).isEqualTo(401);
        assertThat(early.problem()).isEqualTo("token-unknown-principal");
        String bobsToken = bobsToken();
        assertThat(cs.get(bobsToken, "/v1/requests").status()).isEqualTo(200);
        ownerCannotApprove("bob@example.com", bobsToken, "bob-sub");
    }

    /** alice's second IdP account is alice by its verified email; an agent may name its subject. */
    @Test
    void anAgentNamingAnUnseenOwnerBySubjectIsRefusedWhileADeclaredIdentityCouldBeThem() {
        Reply early = cs.submit(etlAgent("alice-second-account"), OidcFixture.PII_EXPORT);
        assertThat(early.problem()).as(early.body()).isEqualTo("token-unknown-principal");
        String alicesSecondToken = cs.token(
                "alice-second-account",
                Map.of("groups", List.of("data-owners"), "email", "alice@example.com", "email_verified", true));
        assertThat(cs.get(alicesSecondToken, "/v1/requests").status()).isEqualTo(200);
        ownerCannotApprove("alice-second-account", alicesSecondToken, "alice");
    }

    @Test
    void anAgentNamingASeenPersonBySubjectIsOwnedByThem() {
        String bobsToken = cs.personToken("bob-sub", "data-owners");
        assertThat(cs.get(bobsToken, "/v1/requests").status()).isEqualTo(200);
        ownerCannotApprove("bob-sub", bobsToken, "bob-sub");
    }

    /** carol is declared with an API key and links.slack U0CAROL; her IdP token carries slack_id U0CAROL. */
    @Test
    void carolFillsOneSlotWithHerKeyAndHerToken() {
        Reply s = cs.submit(cs.apiKey("deploy-bot"), OidcFixture.PII_EXPORT);
        String id = s.json().path("id").asText();
        Reply byKey = cs.review(cs.apiKey("carol"), id, "approve", "ok");
        assertThat(byKey.status()).as(byKey.body()).isEqualTo(200);
        String carolsToken = cs.token("carol-sub", Map.of("groups", List.of("data-owners"), "slack_id", "U0CAROL"));
        Reply byToken = cs.review(carolsToken, id, "approve", "ok again");
        assertThat(byToken.status())
                .as("one person, one slot: " + byToken.body())
                .isEqualTo(409);
        assertThat(byToken.problem()).isEqualTo("already-reviewed");
        assertThat(cs.get(cs.apiKey("carol"), "/v1/requests/" + id).state()).isEqualTo("pending");
    }

    @Test
    void aTokenWhoseClaimsLinkTwoDeclaredIdentitiesIsRefused() {
        Reply bySubjectAndSlack = cs.get(
                cs.token("alice-sub", Map.of("groups", List.of("data-owners"), "slack_id", "U0CAROL")), "/v1/requests");
        Reply byEmailAndSlack = cs.get(
                cs.token(
                        "someone", Map.of("email", "alice@example.com", "email_verified", true, "slack_id", "U0CAROL")),
                "/v1/requests");
        for (Reply r : List.of(bySubjectAndSlack, byEmailAndSlack)) {
            assertThat(r.status()).as(r.body()).isEqualTo(401);
            assertThat(r.problem()).isEqualTo("token-ambiguous-principal");
            assertThat(r.json().path("detail").asText()).contains("alice", "carol");
        }
        assertThat(cs.server().identities().resolve(LinkKind.OIDC, cs.issuer + "#someone"))
                .isEmpty();
    }

    @Test
    void anAgentsTokenIsNotTakenForTheDeclaredPersonItsLinkClaimNames() {
        Reply s = cs.submit(
                cs.token("etl-agent", Map.of("kind", "agent", "owner", "alice", "slack_id", "U0CAROL")),
                OidcFixture.PII_EXPORT);
        assertThat(s.status()).as(s.body()).isEqualTo(201);
        assertThat(s.json().path("requester").path("id").asText()).isEqualTo("etl-agent");
        assertThat(cs.server().identities().resolve(LinkKind.SLACK, "U0CAROL"))
                .map(Principal::id)
                .contains("carol");
    }

    /** pat is declared nowhere; the same verified email, or the same Slack id, under a second subject is pat again. */
    @Test
    void aPersonLearnedFromOneTokenHoldsOneSlotUnderAnotherSubject() {
        String first = firstToken("pat-1", "pat@example.com", "U0PAT");
        String sameEmail = cs.token(
                "pat-2", Map.of("groups", List.of("data-owners"), "email", "pat@example.com", "email_verified", true));
        String sameSlack = cs.token("pat-3", Map.of("groups", List.of("data-owners"), "slack_id", "U0PAT"));
        Reply s = cs.submit(cs.apiKey("deploy-bot"), OidcFixture.PII_EXPORT);
        String id = s.json().path("id").asText();
        assertThat(cs.review(first, id, "approve", "ok").status()).isEqualTo(200);
        for (String again : List.of(sameEmail, sameSlack)) {
            Reply r = cs.review(again, id, "approve", "ok again");
            assertThat(r.status()).as("one person, one slot: " + r.body()).isEqualTo(409);
            assertThat(r.problem()).isEqualTo("already-reviewed");
        }
        assertThat(cs.get(cs.apiKey("carol"), "/v1/requests/" + id).state()).isEqualTo("pending");
        assertThat(cs.server().identities().resolve(LinkKind.OIDC, cs.issuer + "#pat-2"))
                .map(Principal::id)
                .contains("pat-1");
    }

    @Test
    void theOwnersSecondSubjectWithTheirVerifiedEmailIsStillTheOwner() {
        String bobsToken = bobsToken();
        assertThat(cs.get(bobsToken, "/v1/requests").status()).isEqualTo(200);
        String bobsOtherAccount = cs.token(
                "bob-other-sub",
                Map.of("groups", List.of("data-owners"), "email", "bob@example.com", "email_verified", true));
        ownerCannotApprove("bob@example.com", bobsOtherAccount, "bob-sub");
    }

    /** What a token taught is stored: after a restart, pat's second subject is still pat, and holds no second slot. */
    @Test
    void aPersonLearnedBeforeARestartHoldsOneSlotUnderAnotherSubjectAfterIt() {
        String first = firstToken("pat-1", "pat@example.com", "U0PAT");
        String id = cs.submit(cs.apiKey("deploy-bot"), OidcFixture.PII_EXPORT)
                .json()
                .path("id")
                .asText();
        assertThat(cs.review(first, id, "approve", "ok").status()).isEqualTo(200);

        cs.restart();

        String sameEmail = cs.token(
                "pat-2", Map.of("groups", List.of("data-owners"), "email", "pat@example.com", "email_verified", true));
        String sameSlack = cs.token("pat-3", Map.of("groups", List.of("data-owners"), "slack_id", "U0PAT"));
        for (String again : List.of(sameEmail, sameSlack)) {
            Reply r = cs.review(again, id, "approve", "ok again");
            assertThat(r.status()).as("one person, one slot: " + r.body()).isEqualTo(409);
            assertThat(r.problem()).isEqualTo("already-reviewed");
        }
        assertThat(cs.get(cs.apiKey("carol"), "/v1/requests/" + id).state()).isEqualTo("pending");
        assertThat(cs.server().identities().resolve(LinkKind.SLACK, "U0PAT"))
                .map(Principal::id)
                .contains("pat-1");
    }

    /** bob signed in before the restart; after it, his agent is his without his signing in again, and so is his second subject. */
    @Test
    void theOwnerLearnedBeforeARestartIsStillTheOwnerUnderAnotherSubjectAfterIt() {
        assertThat(cs.get(bobsToken(), "/v1/requests").status()).isEqualTo(200);

        cs.restart();

        String bobsOtherAccount = cs.token(
                "bob-other-sub",
                Map.of("groups", List.of("data-owners"), "email", "bob@example.com", "email_verified", true));
        ownerCannotApprove("bob@example.com", bobsOtherAccount, "bob-sub");
    }

    /** Eight first tokens of one person, under eight subjects at once: one person, whichever token won. */
    @Test
    void firstTokensOfOnePersonAtOnceAreOnePrincipal() throws Exception {
        List<String> subjects = IntStream.range(0, 8).mapToObj(i -> "pat-" + i).toList();
        List<String> tokens = subjects.stream()
                .map(sub -> cs.token(
                        sub,
                        Map.of("groups", List.of("data-owners"), "email", "pat@example.com", "email_verified", true)))
                .toList();
        CyclicBarrier together = new CyclicBarrier(tokens.size());
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Reply>> replies = new ArrayList<>();
            for (String token : tokens)
                replies.add(threads.submit(() -> {
                    together.await();
                    return cs.get(token, "/v1/requests");
                }));
            for (Future<Reply> r : replies)
                assertThat(r.get().status()).as(r.get().body()).isEqualTo(200);
        }
        Set<String> principals = subjects.stream()
                .map(sub -> cs.server().identities().resolve(LinkKind.OIDC, cs.issuer + "#" + sub))
                .map(p -> p.map(Principal::id).orElse("nobody"))
                .collect(Collectors.toSet());
        assertThat(principals).hasSize(1).isSubsetOf(subjects);
    }

    /** Each link a token teaches is in the ledger, as the act of the principal whose token carried it, once. */
    @Test
    void eachLearnedLinkIsALedgerEventOfItsOwn() throws IOException {
        String pat = cs.token(
                "pat-1", Map.of("groups", List.of("data-owners"), "email", "Pat@Example.com", "email_verified", true));
        assertThat(cs.get(pat, "/v1/requests").status()).isEqualTo(200);
        assertThat(cs.get(pat, "/v1/requests").status()).isEqualTo(200);
        cs.restart();
        assertThat(cs.get(pat, "/v1/requests").status()).isEqualTo(200);

        List<JsonNode> linked = linkedEvents(pat);
        assertThat(linked)
                .extracting(e ->
                        e.path("link").asText() + " " + e.path("value_sha256").asText())
                .containsExactlyInAnyOrder(
                        "oidc " + sha256(cs.issuer + "#pat-1"), "email " + sha256("pat@example.com"));
        assertThat(linked).noneSatisfy(e -> assertThat(e.toString()).contains("pat@example.com"));
        assertThat(linked).allSatisfy(e -> {
            assertThat(e.path("actor").asText()).isEqualTo("pat-1");
            assertThat(e.path("principal_kind").asText()).isEqualTo("human");
            assertThat(e.has("request_id")).isFalse();
        });
    }

    /** dana acted as dana-sub; declared as someone else by her email, she would be two approvers: the start is refused. */
    @Test
    void declaringALearnedPersonUnderAnotherIdIsRefusedAtStart() {
        String dana = danasFirstToken();
        assertThat(cs.get(dana, "/v1/requests").status()).isEqualTo(200);

        assertThatThrownBy(() -> cs.restartDeclaring(
                        Principal.human("dana", Set.of("data-owners")),
                        new ServerConfig.Links(null, "Dana@Example.com", null, null)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("dana's links.email 'dana@example.com' has named 'dana-sub'")
                .hasMessageContaining("declare this person with id 'dana-sub'");
        assertThat(cs.get(dana, "/v1/requests").status()).isEqualTo(200);
    }

    /** Declared under the id she acted as, dana is one person to the quorum and to her agent. */
    @Test
    void aLearnedPersonDeclaredUnderTheirIdIsOnePerson() {
        assertThat(cs.get(danasFirstToken(), "/v1/requests").status()).isEqualTo(200);
        cs.restartDeclaring(
                Principal.human("dana-sub", Set.of("data-owners")),
                new ServerConfig.Links(null, "dana@example.com", null, null));

        String byEmail = cs.token(
                "dana-sub",
                Map.of("groups", List.of("data-owners"), "email", "dana@example.com", "email_verified", true));
        String bySlack = cs.token("dana-phone", Map.of("groups", List.of("data-owners"), "slack_id", "U0DANA"));
        String id = cs.submit(cs.apiKey("deploy-bot"), OidcFixture.PII_EXPORT)
                .json()
                .path("id")
                .asText();
        assertThat(cs.review(byEmail, id, "approve", "ok").status()).isEqualTo(200);
        Reply again = cs.review(bySlack, id, "approve", "ok again");
        assertThat(again.status()).as(again.body()).isEqualTo(409);
        assertThat(again.problem()).isEqualTo("already-reviewed");
        ownerCannotApprove("dana-sub", bySlack, "dana-sub");
    }

    /** alice is declared by her email; a token of hers that carries a Slack id first seen for pat is refused. */
    @Test
    void aDeclaredPersonsTokenCarryingALinkLearnedForSomeoneElseIsRefused() {
        String pat = cs.token("pat-1", Map.of("email", "pat@example.com", "email_verified", true, "slack_id", "U0PAT"));
        assertThat(cs.get(pat, "/v1/requests").status()).isEqualTo(200);
        Reply r = cs.get(
                cs.token(
                        "alice-laptop",
                        Map.of("email", "alice@example.com", "email_verified", true, "slack_id", "U0PAT")),
                "/v1/requests");
        assertThat(r.status()).as(r.body()).isEqualTo(401);
        assertThat(r.problem()).isEqualTo("token-ambiguous-principal");
        assertThat(r.json().path("detail").asText())
                .contains("alice's by its declared links", "first seen for pat-1", "declare them with id 'pat-1'");
    }

    /**
     * Token B is resolved before A, one person's first token under another subject with the same email,
     * is learned; B's links are stored after A's. B is A's person, not a second one.
     */
    @Test
    void aTokenResolvedBeforeAnotherOfItsPersonIsLearnedIsThatPerson() throws Exception {
        CountDownLatch bResolved = new CountDownLatch(1);
        CountDownLatch aLearned = new CountDownLatch(1);
        // The clock is read once a token is resolved, to date the links it is about to store.
        Clock gate = new Clock() {
            @Override
            public ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                if (Thread.currentThread().getName().equals("token-b") && bResolved.getCount() > 0) {
                    bResolved.countDown();
                    try {
                        assertThat(aLearned.await(10, TimeUnit.SECONDS)).isTrue();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
                return OidcFixture.START;
            }
        };
        try (SqliteStore store = SqliteStore.open(
                other.resolve("countersign.db"),
                LedgerSettings.of(SigningKey.generate("countersign.test/ledger", new SecureRandom())))) {
            Identities identities = Identities.of(List.of(), store, gate);
            TokenPrincipals principals = new TokenPrincipals(
                    ServerConfig.Issuer.builder(cs.issuer, OidcFixture.AUDIENCE)
                            .agentClaim(new ServerConfig.ClaimMatch("kind", "agent"))
                            .build(),
                    identities);
            JWTClaimsSet a = cs.claims("pat-1")
                    .claim("email", "pat@example.com")
                    .claim("email_verified", true)
                    .build();
            JWTClaimsSet b = cs.claims("pat-2")
                    .claim("email", "pat@example.com")
                    .claim("email_verified", true)
                    .build();
            CompletableFuture<Principal> asB = new CompletableFuture<>();
            Thread.ofPlatform().name("token-b").start(() -> {
                try {
                    asB.complete(principals.principal(b));
                } catch (RuntimeException e) {
                    asB.completeExceptionally(e);
                }
            });
            assertThat(bResolved.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(principals.principal(a).id()).isEqualTo("pat-1");
            aLearned.countDown();
            assertThat(asB.get(10, TimeUnit.SECONDS).id()).isEqualTo("pat-1");
            assertThat(store.learnedLinks())
                    .extracting(LearnedLink::principal)
                    .containsOnly("pat-1")
                    .hasSize(3);
        }
    }

    @Test
    void aTokenWhoseLinksWereLearnedForTwoPeopleIsRefused() {
        assertThat(cs.get(cs.token("pat-1", Map.of("email", "pat@example.com", "email_verified", true)), "/v1/requests")
                        .status())
                .isEqualTo(200);
        assertThat(cs.get(
                                cs.token(
                                        "sam-1",
                                        Map.of(
                                                "slack_id",
                                                "U0SAM",
                                                "email",
                                                "sam@example.com",
                                                "email_verified",
                                                true)),
                                "/v1/requests")
                        .status())
                .isEqualTo(200);
        Reply both = cs.get(
                cs.token("pat-9", Map.of("email", "pat@example.com", "email_verified", true, "slack_id", "U0SAM")),
                "/v1/requests");
        assertThat(both.status()).as(both.body()).isEqualTo(401);
        assertThat(both.problem()).isEqualTo("token-ambiguous-principal");
        assertThat(both.json().path("detail").asText()).contains("pat-1", "sam-1");
    }

    private List<JsonNode> linkedEvents(String credential) throws IOException {
        Reply page = cs.get(credential, "/v1/ledger/entries?start=0");
        assertThat(page.status()).as(page.body()).isEqualTo(200);
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode entry : page.json().path("entries")) {
            JsonNode leaf = Json.mapper().readTree(entry.path("leaf").asText());
            if (leaf.path("type").asText().equals("identity.linked")) out.add(leaf);
        }
        return out;
    }

    private String danasFirstToken() {
        return firstToken("dana-sub", "dana@example.com", "U0DANA");
    }

    /** A data owner's token with their verified email and Slack id. */
    private String firstToken(String subject, String email, String slackId) {
        return cs.token(
                subject,
                Map.of("groups", List.of("data-owners"), "email", email, "email_verified", true, "slack_id", slackId));
    }

    private static String sha256(String value) {
        return HexFormat.of().formatHex(CanonicalJson.sha256(value.getBytes(StandardCharsets.UTF_8)));
    }

    private String bobsToken() {
        return cs.token(
                "bob-sub",
                Map.of("groups", List.of("data-owners"), "email", "bob@example.com", "email_verified", true));
    }

    private String etlAgent(String owner) {
        return cs.token("etl-agent", Map.of("kind", "agent", "owner", owner));
    }

    /** An agent naming {@code named} as its owner submits: its owner is {@code owner}, whose own token may not approve. */
    private void ownerCannotApprove(String named, String ownersToken, String owner) {
        Reply s = cs.submit(etlAgent(named), OidcFixture.PII_EXPORT);
        assertThat(s.status()).as(s.body()).isEqualTo(201);
        assertThat(s.json().path("requester").path("owner").asText()).isEqualTo(owner);
        Reply byOwner = cs.review(ownersToken, s.json().path("id").asText(), "approve", "my own agent");
        assertThat(byOwner.status()).as(byOwner.body()).isEqualTo(403);
        assertThat(byOwner.problem()).isEqualTo("owner-review");
    }
}
