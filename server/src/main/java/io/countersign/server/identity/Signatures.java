package io.countersign.server.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.SignedJWT;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;

/**
 * Which published key can verify which algorithm, and the verification itself. Only asymmetric
 * algorithms reach here (the caller refuses {@code none} and HMAC first), and a key is used only for
 * the family it belongs to, so an RSA public key can never be taken for an HMAC secret. RSA and
 * ECDSA are verified by nimbus-jose-jwt, Ed25519 by the JDK (nimbus would need Tink for it).
 */
final class Signatures {
    private static final int MIN_RSA_BITS = 2048;
    /** The DER prefix of an X.509 SubjectPublicKeyInfo for an Ed25519 key (RFC 8410), before the 32 key bytes. */
    private static final byte[] ED25519_SPKI_PREFIX = {
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
    };

    private Signatures() {}

    /** Whether {@code key} is of the kind {@code alg} is verified with. */
    static boolean fits(JWK key, JWSAlgorithm alg) {
        if (key.getAlgorithm() != null && !sameAlgorithm(key.getAlgorithm().getName(), alg.getName())) return false;
        if (JWSAlgorithm.Family.RSA.contains(alg)) return key instanceof RSAKey rsa && rsa.size() >= MIN_RSA_BITS;
        if (JWSAlgorithm.ES256.equals(alg)) return curve(key, Curve.P_256);
        if (JWSAlgorithm.ES384.equals(alg)) return curve(key, Curve.P_384);
        if (JWSAlgorithm.ES512.equals(alg)) return curve(key, Curve.P_521);
        if (JWSAlgorithm.EdDSA.equals(alg) || JWSAlgorithm.Ed25519.equals(alg))
            return key instanceof OctetKeyPair okp && Curve.Ed25519.equals(okp.getCurve());
        return false;
    }

    /** Why {@code key} does not {@link #fits fit} {@code alg}, in words for the token's refusal. */
    static String misfit(JWK key, JWSAlgorithm alg) {
        if (key.getAlgorithm() != null && !sameAlgorithm(key.getAlgorithm().getName(), alg.getName()))
            return "is published for " + key.getAlgorithm().getName() + " and cannot verify " + alg;
        if (JWSAlgorithm.Family.RSA.contains(alg) && key instanceof RSAKey rsa && rsa.size() < MIN_RSA_BITS)
            return "is a " + rsa.size() + "-bit RSA key; RSA keys of fewer than " + MIN_RSA_BITS + " bits are refused";
        return "is a " + key.getKeyType() + " key and cannot verify " + alg;
    }

    /** Whether {@code jwt}'s signature is valid under {@code key}, which {@link #fits} its algorithm. */
    static boolean verify(SignedJWT jwt, JWK key) {
        try {
            if (key instanceof OctetKeyPair okp) return ed25519(jwt, okp);
            JWSVerifier verifier = key instanceof RSAKey rsa ? new RSASSAVerifier(rsa) : new ECDSAVerifier((ECKey) key);
            return jwt.verify(verifier);
        } catch (JOSEException | GeneralSecurityException | IllegalStateException e) {
            return false;
        }
    }

    private static boolean ed25519(SignedJWT jwt, OctetKeyPair okp) throws GeneralSecurityException {
        if (jwt.getHeader().getCriticalParams() != null) return false; // no extension is understood
        byte[] x = okp.getX().decode();
        if (x.length != 32) return false;
        byte[] spki = new byte[ED25519_SPKI_PREFIX.length + x.length];
        System.arraycopy(ED25519_SPKI_PREFIX, 0, spki, 0, ED25519_SPKI_PREFIX.length);
        System.arraycopy(x, 0, spki, ED25519_SPKI_PREFIX.length, x.length);
        PublicKey publicKey = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
        Signature s = Signature.getInstance("Ed25519");
        s.initVerify(publicKey);
        s.update(jwt.getSigningInput());
        return s.verify(jwt.getSignature().decode());
    }

    private static boolean curve(JWK key, Curve curve) {
        return key instanceof ECKey ec && curve.equals(ec.getCurve());
    }

    /** RFC 9864 names Ed25519 what RFC 8037 called EdDSA. */
    private static boolean sameAlgorithm(String keyAlg, String tokenAlg) {
        boolean ed = keyAlg.equals("EdDSA") || keyAlg.equals("Ed25519");
        return keyAlg.equals(tokenAlg) || (ed && (tokenAlg.equals("EdDSA") || tokenAlg.equals("Ed25519")));
    }
}
