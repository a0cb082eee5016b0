package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import io.countersign.core.testing.MutableClock;
import io.countersign.server.config.ServerConfig;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.token.OAuth2TokenProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** One issuer's key cache against a real IdP over HTTP: how often it fetches, and how it fails. */
class IssuerKeysTest {
    private static final Duration MIN_REFETCH = ServerConfig.Oidc.DEFAULT_JWKS_MIN_REFETCH;

    final MutableClock clock = new MutableClock(OidcFixture.START);
    final OidcFixture.RotatingKeys idpKeys = new OidcFixture.RotatingKeys(JWSAlgorithm.RS256);
    MockOAuth2Server idp;
    String issuer;

    @BeforeEach
    void start() {
        idp = new MockOAuth2Server(
                new OAuth2Config(false, null, null, false, new OAuth2TokenProvider(idpKeys, () -> clock.instant())));
        idp.start(InetAddress.getLoopbackAddress(), 0);
        issuer = idp.issuerUrl(OidcFixture.ISSUER_ID).toString();
    }

    @AfterEach
    void stop() {
        idp.shutdown();
    }

    @Test
    void aKnownKeyIsServedFromTheCache() {
        IssuerKeys keys = keys(issuer);
        String kid = idpKeys.kid(OidcFixture.ISSUER_ID);
        for (int i = 0; i < 5; i++)
            assertThat(keys.key(kid, JWSAlgorithm.RS256).getKeyID()).isEqualTo(kid);
        assertThat(keys.fetches()).isEqualTo(1);
    }

    @Test
    void unknownKeyIdsFetchAtMostOncePerInterval() {
        IssuerKeys keys = keys(issuer);
        keys.key(idpKeys.kid(OidcFixture.ISSUER_ID), JWSAlgorithm.RS256);
        madeUpKeys(keys);
        assertThat(keys.fetches()).as("within the interval of the first fetch").isEqualTo(1);
        clock.advance(MIN_REFETCH);
        madeUpKeys(keys);
        assertThat(keys.fetches()).isEqualTo(2);
    }

    @Test
    void aRotatedKeyIsFetchedTheFirstTimeATokenUsesIt() {
        IssuerKeys keys = keys(issuer);
        keys.key(idpKeys.kid(OidcFixture.ISSUER_ID), JWSAlgorithm.RS256);
        String rotated = idpKeys.rotate(OidcFixture.ISSUER_ID);
        clock.advance(MIN_REFETCH);
        assertThat(keys.key(rotated, JWSAlgorithm.RS256).getKeyID()).isEqualTo(rotated);
        assertThat(keys.fetches()).isEqualTo(2);
    }

    @Test
    void aKeyIsUsedOnlyForItsOwnAlgorithmFamily() {
        IssuerKeys keys = keys(issuer);
        String kid = idpKeys.kid(OidcFixture.ISSUER_ID);
        assertProblem(() -> keys.key(kid, JWSAlgorithm.ES256), "token-invalid-signature");
    }

    @Test
    void anUnreachableIdpFailsClosed() {
        idp.shutdown();
        IssuerKeys keys = keys(issuer);
        assertProblem(() -> keys.key("any", JWSAlgorithm.RS256), "idp-unavailable");
    }

    @Test
    void aDiscoveryDocumentForAnotherIssuerIsNotTrusted() {
        IssuerKeys keys = keys(issuer + "/"); // the document names the issuer without the slash
        assertProblem(() -> keys.key(idpKeys.kid(OidcFixture.ISSUER_ID), JWSAlgorithm.RS256), "idp-unavailable");
    }

    @Test
    void aConfiguredJwksUriSkipsDiscovery() {
        ServerConfig.Issuer config = ServerConfig.Issuer.builder("https://idp.invalid/", "countersign")
                .jwksUri(java.net.URI.create(idp.jwksUrl(OidcFixture.ISSUER_ID).toString()))
                .build();
        IssuerKeys keys = new IssuerKeys(config, settings(config), new IdpHttp(Duration.ofSeconds(5)), clock);
        String kid = idpKeys.kid(OidcFixture.ISSUER_ID);
        assertThat(keys.key(kid, JWSAlgorithm.RS256).getKeyID()).isEqualTo(kid);
    }

    private static void madeUpKeys(IssuerKeys keys) {
        for (String kid : List.of("made-up-1", "made-up-2", "made-up-3"))
            assertProblem(() -> keys.key(kid, JWSAlgorithm.RS256), "token-unknown-key");
    }

    private IssuerKeys keys(String issuer) {
        ServerConfig.Issuer config =
                ServerConfig.Issuer.builder(issuer, "countersign").build();
        return new IssuerKeys(config, settings(config), new IdpHttp(Duration.ofSeconds(5)), clock);
    }

    private static ServerConfig.Oidc settings(ServerConfig.Issuer config) {
        return ServerConfig.Oidc.of(List.of(config));
    }

    private static void assertProblem(Runnable call, String slug) {
        assertThatThrownBy(call::run)
                .isInstanceOfSatisfying(
                        TokenRejectedException.class,
                        e -> assertThat(e.problem().slug()).isEqualTo(slug));
    }
}
