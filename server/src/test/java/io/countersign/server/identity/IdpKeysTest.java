package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jwt.SignedJWT;
import io.countersign.server.config.ServerConfig;
import io.countersign.server.identity.OidcFixture.Reply;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Key rotation at the IdP, and an IdP that fails, through the real server. */
class IdpKeysTest {
    private static final Duration MIN_REFETCH = ServerConfig.Oidc.DEFAULT_JWKS_MIN_REFETCH;

    @TempDir
    Path data;

    OidcFixture cs;

    @AfterEach
    void stop() {
        if (cs != null) cs.close();
    }

    @Test
    void followsKeyRotationAtTheIdp() {
        cs = new OidcFixture(data);
        String before = cs.personToken("bob", "data-owners");
        assertThat(cs.get(before, "/v1/requests").status()).isEqualTo(200);

        cs.keys.rotate(OidcFixture.ISSUER_ID);
        cs.clock.advance(MIN_REFETCH);
        String after = cs.personToken("bob", "data-owners");
        Reply withNewKey = cs.get(after, "/v1/requests");
        assertThat(withNewKey.status()).as(withNewKey.body()).isEqualTo(200);

        Reply withRetiredKey = cs.get(before, "/v1/requests");
        assertThat(withRetiredKey.status()).isEqualTo(401);
        assertThat(withRetiredKey.problem()).isEqualTo("token-unknown-key");
    }

    @Test
    void acceptsEs256TokensFromAnEcIdp() throws Exception {
        cs = new OidcFixture(data, b -> b, JWSAlgorithm.ES256);
        String token = cs.personToken("bob", "data-owners");
        assertThat(SignedJWT.parse(token).getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
        assertThat(cs.get(token, "/v1/requests").status()).isEqualTo(200);
    }

    @Test
    void refusesAnAlgorithmTheIssuerIsNotTrustedFor() {
        cs = new OidcFixture(data, b -> b.algorithms(java.util.Set.of("RS256")), JWSAlgorithm.ES256);
        Reply r = cs.get(cs.personToken("bob", "data-owners"), "/v1/requests");
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.problem()).isEqualTo("token-algorithm-not-allowed");
    }

    @Test
    void cachedKeysServeWhileTheIdpIsDownThenItFailsClosed() {
        cs = new OidcFixture(data);
        String token = cs.idp
                .issueToken(OidcFixture.ISSUER_ID, "bob", OidcFixture.AUDIENCE, Map.of(), 3 * 3600)
                .serialize();
        assertThat(cs.get(token, "/v1/requests").status()).isEqualTo(200);
        cs.idp.shutdown();

        assertThat(cs.get(token, "/v1/requests").status())
                .as("known key, from the cache")
                .isEqualTo(200);
        cs.clock.advance(MIN_REFETCH);
        String stranger = OidcFixture.signedByStranger(cs.claims("mallory").build(), "rotated-maybe");
        Reply unknown = cs.get(stranger, "/v1/requests");
        assertThat(unknown.status()).as("an unknown key cannot be checked").isEqualTo(503);
        assertThat(unknown.problem()).isEqualTo("idp-unavailable");

        cs.clock.advance(Duration.ofHours(1));
        Reply aged = cs.get(token, "/v1/requests");
        assertThat(aged.status()).as("keys past jwks_max_age are not used").isEqualTo(503);
        assertThat(aged.problem()).isEqualTo("idp-unavailable");
    }
}
