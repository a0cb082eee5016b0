package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Which key verifies which algorithm; Ed25519 through the JDK. */
class SignaturesTest {
    private static final JWTClaimsSet CLAIMS =
            new JWTClaimsSet.Builder().subject("bob").build();

    @Test
    void verifiesEs256WithItsCurveOnly() throws Exception {
        ECKey p256 = new ECKeyGenerator(Curve.P_256).keyID("ec").generate();
        SignedJWT jwt = new SignedJWT(
                new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("ec").build(), CLAIMS);
        jwt.sign(new ECDSASigner(p256));
        assertThat(Signatures.fits(p256.toPublicJWK(), JWSAlgorithm.ES256)).isTrue();
        assertThat(Signatures.verify(jwt, p256.toPublicJWK())).isTrue();
        ECKey p384 = new ECKeyGenerator(Curve.P_384).generate();
        assertThat(Signatures.fits(p384.toPublicJWK(), JWSAlgorithm.ES256)).isFalse();
    }

    @Test
    void verifiesEd25519WithTheJdk() throws Exception {
        KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        byte[] spki = pair.getPublic().getEncoded();
        OctetKeyPair okp = new OctetKeyPair.Builder(
                        Curve.Ed25519, Base64URL.encode(Arrays.copyOfRange(spki, spki.length - 32, spki.length)))
                .keyID("ed")
                .build();
        for (JWSAlgorithm alg : new JWSAlgorithm[] {JWSAlgorithm.EdDSA, JWSAlgorithm.Ed25519}) {
            String signed = signEd25519(pair, alg);
            assertThat(Signatures.fits(okp, alg)).isTrue();
            assertThat(Signatures.verify(SignedJWT.parse(signed), okp)).isTrue();
            String otherPayload = signed.replaceFirst("\\.[^.]+\\.", "." + b64("{\"sub\":\"mallory\"}") + ".");
            assertThat(Signatures.verify(SignedJWT.parse(otherPayload), okp)).isFalse();
        }
    }

    @Test
    void neverTakesAnRsaKeyForAnotherFamilyOrASmallOne() throws Exception {
        RSAKey rsa = new RSAKeyGenerator(2048).generate().toPublicJWK();
        assertThat(Signatures.fits(rsa, JWSAlgorithm.RS256)).isTrue();
        assertThat(Signatures.fits(rsa, JWSAlgorithm.PS256)).isTrue();
        assertThat(Signatures.fits(rsa, JWSAlgorithm.ES256)).isFalse();
        assertThat(Signatures.fits(rsa, JWSAlgorithm.HS256)).isFalse();
        assertThat(Signatures.fits(rsa, JWSAlgorithm.EdDSA)).isFalse();
        RSAKey small = new RSAKeyGenerator(1024, true).generate().toPublicJWK();
        assertThat(Signatures.fits(small, JWSAlgorithm.RS256)).isFalse();
        assertThat(Signatures.misfit(small, JWSAlgorithm.RS256))
                .isEqualTo("is a 1024-bit RSA key; RSA keys of fewer than 2048 bits are refused");
        assertThat(Signatures.misfit(rsa, JWSAlgorithm.ES256)).isEqualTo("is a RSA key and cannot verify ES256");
    }

    @Test
    void aKeyPinnedToOneAlgorithmVerifiesOnlyThatOne() throws Exception {
        RSAKey pinned = new RSAKeyGenerator(2048)
                .algorithm(JWSAlgorithm.RS256)
                .generate()
                .toPublicJWK();
        assertThat(Signatures.fits(pinned, JWSAlgorithm.RS256)).isTrue();
        assertThat(Signatures.fits(pinned, JWSAlgorithm.PS256)).isFalse();
        assertThat(Signatures.misfit(pinned, JWSAlgorithm.PS256))
                .isEqualTo("is published for RS256 and cannot verify PS256");
    }

    private static String signEd25519(KeyPair pair, JWSAlgorithm alg) throws Exception {
        String input = b64("{\"alg\":\"" + alg.getName() + "\",\"kid\":\"ed\"}") + "." + b64(CLAIMS.toString());
        Signature s = Signature.getInstance("Ed25519");
        s.initSign(pair.getPrivate());
        s.update(input.getBytes(StandardCharsets.US_ASCII));
        return input + "." + Base64URL.encode(s.sign());
    }

    private static String b64(String json) {
        return Base64URL.encode(json.getBytes(StandardCharsets.UTF_8)).toString();
    }
}
