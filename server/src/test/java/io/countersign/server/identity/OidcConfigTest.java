package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.server.config.ConfigException;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.ServerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code oidc} section and identity {@code links}: loaded once, refused with the key and the value. */
class OidcConfigTest {
    private static final String ISSUER = """
            oidc:
              issuers:
                - issuer: https://idp.example.com/
                  audience: countersign
            """;
    private static final String ALICE = """
            identities:
              - id: alice
                kind: human
                links: { slack: U012ABC }
            """;

    @TempDir
    Path dir;

    @BeforeEach
    void copyPolicy() throws IOException {
        Files.copy(Path.of("..", "examples", "policy.yaml"), dir.resolve("policy.yaml"));
    }

    @Test
    void aCredentialIsTakenForATokenOnlyWithExactlyTwoDots() {
        assertThat(OidcAuthenticator.looksLikeJwt("eyJh.eyJz.sig")).isTrue();
        assertThat(OidcAuthenticator.looksLikeJwt("..")).isTrue(); // the shape only; verification refuses it
        assertThat(OidcAuthenticator.looksLikeJwt("cs_zH5ly9pSjDvE2CNtp4runQD7v4RDnS4Y7lGoV075Cw4"))
                .isFalse();
        assertThat(OidcAuthenticator.looksLikeJwt("a.b")).isFalse();
        assertThat(OidcAuthenticator.looksLikeJwt("a.b.c.d")).isFalse();
        assertThat(OidcAuthenticator.looksLikeJwt("a.b.c.")).isFalse();
        assertThat(OidcAuthenticator.looksLikeJwt("")).isFalse();
    }

    @Test
    void theExampleConfigLoads() {
        ServerConfig c = ConfigLoader.load(new ConfigLoader.Overrides(
                Path.of("..", "examples", "countersign-oidc.yaml"), dir.resolve("data"), null, null, null));
        ServerConfig.Issuer issuer = c.oidc().issuers().get(0);
        assertThat(issuer.issuer()).isEqualTo("https://idp.example.com/");
        assertThat(issuer.audiences()).containsExactly("countersign");
        assertThat(issuer.clockSkew()).isEqualTo(Duration.ofSeconds(60));
        assertThat(issuer.agentClaim()).isEqualTo(new ServerConfig.ClaimMatch("kind", "agent"));
        assertThat(issuer.algorithms()).doesNotContain("HS256", "none").contains("RS256", "ES256", "EdDSA");
        Map<String, ServerConfig.Links> links = c.identities().stream()
                .collect(Collectors.toMap(i -> i.principal().id(), ServerConfig.Identity::links));
        assertThat(links.get("alice"))
                .isEqualTo(new ServerConfig.Links(
                        "https://idp.example.com/#00u1alice", "alice@example.com", "U012ABCDE", "29:1a2b3c-alice"));
        assertThat(links.get("deploy-bot").oidc()).isEqualTo("https://idp.example.com/#0oa1deploybot");
        assertThat(c.oidc().jwksMinRefetch()).isEqualTo(ServerConfig.Oidc.DEFAULT_JWKS_MIN_REFETCH);
    }

    @Test
    void everyIssuerOptionIsRead() throws IOException {
        ServerConfig c = load("""
                oidc:
                  jwks_refresh: 2m
                  jwks_min_refetch: 5s
                  jwks_max_age: 30m
                  http_timeout: 2s
                  issuers:
                    - issuer: http://127.0.0.1:8180/realms/acme
                      audience: [countersign, account]
                      jwks_uri: http://127.0.0.1:8180/realms/acme/certs
                      algorithms: [ES256]
                      clock_skew: 30s
                      id_claim: preferred_username
                      id_prefix: "acme:"
                      email_claim: mail
                      require_verified_email: false
                      groups_claim: realm_access.roles
                      agent_claim: { name: kind, value: agent }
                      human_claim: { name: roles, value: reviewer }
                      client_credentials_agents: false
                      owner_claim: accountable
                      link_claims: { slack: slack_id, teams: oid }
                      allow_unlinked: false
                """ + ALICE);
        ServerConfig.Oidc o = c.oidc();
        assertThat(o.jwksRefresh()).isEqualTo(Duration.ofMinutes(2));
        assertThat(o.jwksMaxAge()).isEqualTo(Duration.ofMinutes(30));
        ServerConfig.Issuer i = o.issuers().get(0);
        assertThat(i.audiences()).containsExactlyInAnyOrder("countersign", "account");
        assertThat(i.jwksUri()).hasToString("http://127.0.0.1:8180/realms/acme/certs");
        assertThat(i.algorithms()).containsExactly("ES256");
        assertThat(i.idPrefix()).isEqualTo("acme:");
        assertThat(i.groupsClaim()).isEqualTo("realm_access.roles");
        assertThat(i.requireVerifiedEmail()).isFalse();
        assertThat(i.agentClaim()).isEqualTo(new ServerConfig.ClaimMatch("kind", "agent"));
        assertThat(i.humanClaim()).isEqualTo(new ServerConfig.ClaimMatch("roles", "reviewer"));
        assertThat(i.clientCredentialsAgents()).isFalse();
        assertThat(i.allowUnlinked()).isFalse();
        assertThat(i.linkClaims()).isEqualTo(Map.of("slack", "slack_id", "teams", "oid"));
    }

    @Test
    void withoutAnOidcSectionOnlyApiKeysAuthenticate() throws IOException {
        assertThat(load(ALICE).oidc().enabled()).isFalse();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            algorithms: [HS256]                 | oidc.issuers[0].algorithms: 'HS256' is not accepted
            algorithms: [none]                  | oidc.issuers[0].algorithms: 'none' is not accepted
            clock_skew: 1h                      | oidc.issuers[0].clock_skew: at most 5m; got '1h'
            clock_skew: soon                    | oidc.issuers[0].clock_skew:
            id_prefix: "-x"                     | oidc.issuers[0].id_prefix:
            agent_claim: { name: kind }         | oidc.issuers[0].agent_claim: needs both name and value
            human_claim: { name: roles }        | oidc.issuers[0].human_claim: needs both name and value, e.g. { name: roles, value: reviewer }; got { name: roles, value: null }
            human_claim: { value: user }        | oidc.issuers[0].human_claim: needs both name and value
            human_claim: { name: roles, value: "" } | oidc.issuers[0].human_claim: needs both name and value
            human_claim: user                   | oidc.issuers[0].human_claim: expected a mapping, not a string
            human_claim: { name: roles, value: reviewer, is: x } | unknown key 'oidc.issuers[0].human_claim.is'
            link_claims: { email: mail }        | oidc.issuers[0].link_claims.email:
            groups_clam: groups                 | unknown key 'oidc.issuers[0].groups_clam'
            jwks_uri: ftp://idp.example.com/k   | oidc.issuers[0].jwks_uri: must be an https URL
            """)
    void refusesABadIssuerOptionNamingIt(String option, String message) throws IOException {
        assertRefused(ISSUER + "      " + option + "\n" + ALICE, message);
    }

    @Test
    void humanClaimIsUnsetByDefaultAndCannotBeTheAgentClaim() throws IOException {
        assertThat(load(ISSUER + ALICE).oidc().issuers().get(0).humanClaim()).isNull();
        assertRefused(
                ISSUER
                        + "      agent_claim: { name: kind, value: agent }\n      human_claim: { name: kind, value: agent }\n"
                        + ALICE,
                "oidc.issuers[0].human_claim: kind = agent is also the agent_claim; a token cannot be both");
    }

    @Test
    void refusesAnIssuerThatIsNotHttpsUnlessOnThisMachine() throws IOException {
        assertRefused(
                ISSUER.replace("https://idp.example.com/", "http://idp.example.com/") + ALICE,
                "oidc.issuers[0].issuer: must be an https URL (http only to localhost) without query or fragment;"
                        + " got 'http://idp.example.com/'");
    }

    @Test
    void aHostNamedLikeALoopbackAddressIsNotOne() throws IOException {
        assertRefused(
                ISSUER.replace("https://idp.example.com/", "http://127.0.0.1.example.com/") + ALICE,
                "oidc.issuers[0].issuer: must be an https URL");
        assertThat(load(ISSUER.replace("https://idp.example.com/", "http://127.0.0.1:8180/realms/acme") + ALICE)
                        .oidc()
                        .issuers())
                .hasSize(1);
    }

    @Test
    void refusesKeysThatWouldAgeOutBetweenRefreshes() throws IOException {
        assertRefused(
                ISSUER.replace("oidc:\n", "oidc:\n  jwks_refresh: 2h\n") + ALICE,
                "oidc.jwks_refresh: must be shorter than jwks_max_age");
    }

    @Test
    void refusesAnIssuerWithoutAudience() throws IOException {
        assertRefused(
                ISSUER.replace("      audience: countersign\n", "") + ALICE, "oidc.issuers[0].audience: required");
    }

    @Test
    void refusesTwoIssuersThatWouldNameTwoPeopleAlike() throws IOException {
        String two = ISSUER + "    - { issuer: https://login.example.org/, audience: countersign }\n";
        assertRefused(two + ALICE, "oidc.issuers[1].id_prefix: '' is also the prefix of https://idp.example.com/");
    }

    @Test
    void aBareSubjectNeedsASingleIssuer() throws IOException {
        String two = ISSUER + "    - { issuer: https://login.example.org/, audience: countersign, id_prefix: org- }\n";
        assertRefused(
                two + ALICE.replace("slack: U012ABC", "oidc: 00u1alice"),
                "identities[0].links.oidc: with 2 issuers, write '<issuer>#<subject>'; got '00u1alice'");
        ServerConfig c = load(two + ALICE.replace("slack: U012ABC", "oidc: \"https://login.example.org/#00u1alice\""));
        assertThat(c.identities().get(0).links().oidc()).isEqualTo("https://login.example.org/#00u1alice");
    }

    @Test
    void refusesAnOidcLinkWithoutIssuers() throws IOException {
        assertRefused(
                ALICE.replace("slack: U012ABC", "oidc: 00u1alice"),
                "identities[0].links.oidc: no oidc.issuers are configured");
    }

    @Test
    void refusesOneOutsideIdentityLinkedToTwoPrincipals() throws IOException {
        String both = ALICE + """
                  - id: bob
                    kind: human
                    links: { slack: U012ABC }
                """;
        assertRefused(both, "identities[1].links.slack: 'U012ABC' is already linked to alice");
        String emails = ALICE.replace("slack: U012ABC", "email: Alice@Example.com") + """
                  - id: bob
                    kind: human
                    links: { email: alice@example.com }
                """;
        assertRefused(emails, "identities[1].links.email: 'alice@example.com' is already linked to alice");
    }

    @Test
    void refusesAnEmailLinkThatIsNotAnAddress() throws IOException {
        assertRefused(
                ALICE.replace("slack: U012ABC", "email: alice"), "identities[0].links.email: not an email address");
    }

    private void assertRefused(String yaml, String message) throws IOException {
        Path file = write(yaml);
        assertThatThrownBy(() -> ConfigLoader.load(new ConfigLoader.Overrides(file, null, null, null, null)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(message);
    }

    private ServerConfig load(String yaml) throws IOException {
        return ConfigLoader.load(new ConfigLoader.Overrides(write(yaml), null, null, null, null));
    }

    private Path write(String yaml) throws IOException {
        return Files.writeString(dir.resolve("countersign.yaml"), "data_dir: state\npolicy: policy.yaml\n" + yaml);
    }
}
