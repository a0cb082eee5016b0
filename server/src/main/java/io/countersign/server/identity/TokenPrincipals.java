package io.countersign.server.identity;

import com.nimbusds.jwt.JWTClaimsSet;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.server.config.ServerConfig;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The principal a verified token of one issuer stands for.
 *
 * <p>A token whose subject (or verified email) a declared identity links to is that identity: its
 * id, kind, owner and attributes are the declared ones, its groups the declared ones plus the
 * token's. Any other token is a principal of its own, named {@code id_prefix + <id_claim>}: an agent
 * if the configured claim says so or it is a client-credentials token, else a human; an agent needs
 * an owner from {@code owner_claim}. Such an id may not be a declared identity's: the link must be
 * declared, never guessed.
 */
final class TokenPrincipals {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}");
    /** Claims that name the OAuth client; in a client-credentials token the subject is the client. */
    private static final List<String> CLIENT_ID_CLAIMS = List.of("client_id", "azp", "cid", "appid");

    private final ServerConfig.Issuer config;
    private final Identities identities;

    TokenPrincipals(ServerConfig.Issuer config, Identities identities) {
        this.config = config;
        this.identities = identities;
    }

    /** The principal of {@code claims} (already verified), remembered with the links they carry. */
    Principal principal(JWTClaimsSet claims) {
        Map<String, Object> c = claims.getClaims();
        String subject = text(c, "sub");
        if (subject == null) throw invalid("the token has no sub claim");
        String email = verifiedEmail(c);
        Set<String> groups = strings(c, config.groupsClaim());
        boolean agent = isAgent(c, subject);
        Optional<Principal> declared = identities.declaredByLink(LinkKind.OIDC, oidcLink(subject));
        if (declared.isEmpty() && email != null && !agent) declared = identities.declaredByLink(LinkKind.EMAIL, email);
        Principal p =
                declared.map(d -> withGroups(d, groups)).orElseGet(() -> unlinked(c, subject, email, groups, agent));
        identities.remember(p, links(c, subject, email));
        return p;
    }

    private Principal unlinked(Map<String, Object> c, String subject, String email, Set<String> groups, boolean agent) {
        if (!config.allowUnlinked())
            throw unknown("subject '" + cut(subject) + "' of " + config.issuer() + " is linked to no declared identity,"
                    + " and this issuer admits declared identities only");
        String named = config.idClaim().equals("sub") ? subject : text(c, config.idClaim());
        if (named == null) throw invalid("the token has no " + config.idClaim() + " claim to name its principal");
        String id = principalId(named);
        String owner = agent ? owner(c) : null;
        if (agent && owner == null)
            throw unknown("agent '" + id + "' has no owner: declare it in identities with links.oidc, or have the"
                    + " identity provider send the " + config.ownerClaim() + " claim");
        Map<String, String> attributes = email == null ? Map.of() : Map.of("email", email);
        return new Principal(
                id, agent ? PrincipalKind.AGENT : PrincipalKind.HUMAN, groups, owner, null, null, attributes);
    }

    private String principalId(String named) {
        String id = config.idPrefix() + named;
        if (!ID.matcher(id).matches())
            throw unknown("'" + cut(id) + "' cannot be a principal id (1-128 letters, digits and ._@:+-); choose"
                    + " another id_claim or declare the identity with links.oidc");
        if (identities.declared(id).isPresent())
            throw unknown("the token would be principal '" + id + "', a declared identity it is not linked to;"
                    + " link it with links.oidc");
        return id;
    }

    /** The owner a token names, resolved as a person's own token would be, so that the owner exclusion holds. */
    private String owner(Map<String, Object> c) {
        String named = text(c, config.ownerClaim());
        if (named == null) return null;
        if (identities.declared(named).isPresent()) return named;
        Optional<Principal> linked = identities.declaredByLink(LinkKind.OIDC, oidcLink(named));
        if (linked.isEmpty()) linked = identities.declaredByLink(LinkKind.EMAIL, named);
        if (linked.isPresent()) return linked.get().id();
        String id = config.idPrefix() + named;
        if (!ID.matcher(id).matches()) throw unknown("the owner '" + cut(named) + "' cannot be a principal id");
        return id;
    }

    private boolean isAgent(Map<String, Object> c, String subject) {
        ServerConfig.AgentClaim marker = config.agentClaim();
        if (marker != null && strings(c, marker.name()).contains(marker.value())) return true;
        return config.clientCredentialsAgents() && clientCredentials(c, subject);
    }

    /**
     * Client-credentials tokens as the common providers mark them: Auth0's {@code gty}, Entra ID's
     * {@code idtyp}, Keycloak's service-account user name, or a subject that is the client itself
     * (Okta, and most others).
     */
    private static boolean clientCredentials(Map<String, Object> c, String subject) {
        if ("client-credentials".equals(c.get("gty")) || "app".equals(c.get("idtyp"))) return true;
        if (c.get("preferred_username") instanceof String u && u.startsWith("service-account-")) return true;
        return CLIENT_ID_CLAIMS.stream().anyMatch(name -> subject.equals(c.get(name)));
    }

    private String verifiedEmail(Map<String, Object> c) {
        String email = text(c, config.emailClaim());
        if (email == null || email.indexOf('@') < 1) return null;
        Object verified = c.get("email_verified");
        boolean ok = Boolean.TRUE.equals(verified) || "true".equals(verified);
        return ok || !config.requireVerifiedEmail() ? LinkKind.EMAIL.normalise(email) : null;
    }

    private Map<LinkKind, String> links(Map<String, Object> c, String subject, String email) {
        Map<LinkKind, String> links = new EnumMap<>(LinkKind.class);
        links.put(LinkKind.OIDC, oidcLink(subject));
        if (email != null) links.put(LinkKind.EMAIL, email);
        config.linkClaims().forEach((kind, claim) -> {
            String value = text(c, claim);
            if (value != null && !value.isBlank())
                links.put(LinkKind.valueOf(kind.toUpperCase(java.util.Locale.ROOT)), value);
        });
        return links;
    }

    private String oidcLink(String subject) {
        return config.issuer() + "#" + subject;
    }

    private static Principal withGroups(Principal p, Set<String> groups) {
        if (p.groups().containsAll(groups)) return p;
        Set<String> all = new LinkedHashSet<>(p.groups());
        all.addAll(groups);
        return new Principal(p.id(), p.kind(), all, p.owner(), p.model(), p.riskTier(), p.attributes());
    }

    /** A claim by its name, else by a dotted path into nested objects (e.g. {@code realm_access.roles}). */
    static Object claim(Map<String, Object> c, String name) {
        if (c.containsKey(name)) return c.get(name);
        Object at = c;
        for (String part : name.split("\\.")) {
            if (!(at instanceof Map<?, ?> m)) return null;
            at = m.get(part);
        }
        return at;
    }

    private static String text(Map<String, Object> c, String name) {
        Object v = claim(c, name);
        if (v == null) return null;
        if (v instanceof String s) return s;
        throw invalid("the " + name + " claim is not a string");
    }

    /** A claim that is one string or a list of strings. */
    private static Set<String> strings(Map<String, Object> c, String name) {
        Object v = claim(c, name);
        if (v == null) return Set.of();
        if (v instanceof String s) return Set.of(s);
        if (v instanceof List<?> list && list.stream().allMatch(e -> e instanceof String)) {
            Set<String> out = new LinkedHashSet<>();
            list.forEach(e -> out.add((String) e));
            return out;
        }
        throw invalid("the " + name + " claim is neither a string nor a list of strings");
    }

    private static String cut(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    private static TokenRejectedException invalid(String detail) {
        return new TokenRejectedException(TokenProblem.INVALID_CLAIMS, detail);
    }

    private static TokenRejectedException unknown(String detail) {
        return new TokenRejectedException(TokenProblem.UNKNOWN_PRINCIPAL, detail);
    }
}
