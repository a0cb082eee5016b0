package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.countersign.server.identity.OidcFixture.Reply;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Tokens that must not get in, each refused with its own problem type, and never echoed. The
 * genuine ones are issued by the real IdP; the forged ones are built here as an attacker would.
 */
class ForgedTokenTest extends OidcServerTest {
    @Test
    void aGenuineTokenGetsIn() {
        assertThat(cs.get(cs.personToken("bob", "data-owners"), "/v1/requests").status())
                .isEqualTo(200);
    }

    @Test
    void refusesATokenFromAnotherIssuer() {
        String token = cs.idp
                .issueToken("other", "bob", OidcFixture.AUDIENCE, Map.of())
                .serialize();
        assertRefused(token, 401, "token-invalid-issuer");
    }

    @Test
    void refusesATokenForAnotherAudience() {
        String token = cs.idp
                .issueToken(OidcFixture.ISSUER_ID, "bob", "some-other-api", Map.of())
                .serialize();
        assertRefused(token, 401, "token-invalid-audience");
    }

    @Test
    void refusesAnExpiredTokenOnceTheClockSkewHasPassed() {
        String token = cs.personToken("bob", "data-owners");
        cs.clock.advance(Duration.ofHours(1).plusSeconds(30));
        assertThat(cs.get(token, "/v1/requests").status())
                .as("within the 60s skew")
                .isEqualTo(200);
        cs.clock.advance(Duration.ofSeconds(31));
        assertRefused(token, 401, "token-expired");
    }

    @Test
    void refusesATokenNotValidYetBeyondTheClockSkew() {
        Instant now = cs.clock.instant();
        String soon = cs.token("bob", Map.of("nbf", Date.from(now.plusSeconds(30))));
        assertThat(cs.get(soon, "/v1/requests").status())
                .as("within the 60s skew")
                .isEqualTo(200);
        String later = cs.token("bob", Map.of("nbf", Date.from(now.plusSeconds(300))));
        assertRefused(later, 401, "token-not-yet-valid");
    }

    @Test
    void refusesAnUnsignedToken() {
        String header = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}");
        String token = header + "." + b64(cs.claims("bob").build().toString()) + ".";
        assertRefused(token, 401, "token-unsigned");
    }

    @Test
    void refusesHs256SignedWithTheIssuersPublicKey() throws Exception {
        RSAKey published = (RSAKey)
                JWKSet.parse(fetch(cs.idp.jwksUrl(OidcFixture.ISSUER_ID).toString()))
                        .getKeys()
                        .get(0);
        for (byte[] secret : List.of(
                published.toPublicKey().getEncoded(), published.toJSONString().getBytes(StandardCharsets.UTF_8))) {
            SignedJWT jwt = new SignedJWT(
                    new JWSHeader.Builder(JWSAlgorithm.HS256)
                            .keyID(published.getKeyID())
                            .build(),
                    cs.claims("mallory").claim("groups", List.of("security")).build());
            jwt.sign(new MACSigner(secret));
            assertRefused(jwt.serialize(), 401, "token-algorithm-not-allowed");
        }
    }

    @Test
    void refusesATokenSignedByAKeyTheIssuerDoesNotPublish() {
        String token = OidcFixture.signedByStranger(cs.claims("mallory").build(), "rogue-key");
        assertRefused(token, 401, "token-unknown-key");
    }

    @Test
    void refusesAStrangersTokenThatBorrowsTheIssuersKeyId() {
        String kid = cs.keys.kid(OidcFixture.ISSUER_ID);
        String token = OidcFixture.signedByStranger(cs.claims("mallory").build(), kid);
        assertRefused(token, 401, "token-invalid-signature");
    }

    @Test
    void refusesATokenWhosePayloadWasChangedAfterSigning() throws Exception {
        String[] parts = cs.personToken("erin", "sales").split("\\.");
        JWTClaimsSet original = JWTClaimsSet.parse(new Base64URL(parts[1]).decodeToString());
        JWTClaimsSet raised = new JWTClaimsSet.Builder(original)
                .claim("groups", List.of("data-owners", "security"))
                .build();
        String tampered = parts[0] + "." + b64(raised.toString()) + "." + parts[2];
        assertRefused(tampered, 401, "token-invalid-signature");
    }

    @Test
    void refusesGarbageThatLooksLikeAToken() {
        assertRefused("not.a.jwt", 401, "token-malformed");
    }

    @Test
    void refusesAnIdpSignedTokenWithoutExpiry() throws JOSEException {
        JWTClaimsSet claims = new JWTClaimsSet.Builder(cs.claims("bob").build())
                .expirationTime(null)
                .build();
        RSAKey idpKey = (RSAKey) cs.keys.signingKey(OidcFixture.ISSUER_ID);
        SignedJWT jwt = new SignedJWT(
                new JWSHeader.Builder(JWSAlgorithm.RS256)
                        .keyID(idpKey.getKeyID())
                        .build(),
                claims);
        jwt.sign(new RSASSASigner(idpKey));
        assertRefused(jwt.serialize(), 401, "token-invalid-claims");
    }

    private void assertRefused(String token, int status, String problem) {
        Reply r = cs.get(token, "/v1/requests");
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.problem()).as(r.body()).isEqualTo(problem);
        assertThat(r.json().path("detail").asText()).isNotBlank();
        assertThat(r.body()).doesNotContain(token);
        for (String part : token.split("\\.")) {
            if (part.length() > 8) assertThat(r.body()).doesNotContain(part);
        }
    }

    private static String b64(String json) {
        return Base64URL.encode(json.getBytes(StandardCharsets.UTF_8)).toString();
    }

    private String fetch(String url) throws Exception {
        return cs.send(HttpRequest.newBuilder(URI.create(url)).GET()).body();
    }
}
