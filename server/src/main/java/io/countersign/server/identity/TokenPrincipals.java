package io.countersign.server.identity;

import com.nimbusds.jwt.JWTClaimsSet;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.server.config.ServerConfig;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The principal a verified token of one issuer stands for.
 *
 * <p>A token a declared identity links to is that identity: its id, kind, owner and attributes are
 * the declared ones, its groups the declared ones plus the token's. An agent's token is linked by its
 * subject only; a person's by its subject, its verified email and its {@code link_claims}, and one
 * whose links name two declared identities is refused. Any other token is a principal of its own,
 * named {@code id_prefix + <id_claim>}: an agent if the configured claim says so or it is a
 * client-credentials token; else a human only if it is positively a person's (it matches {@code
 * human_claim}, or, when none is configured, carries a verified email), or comes from a person's
 * interactive sign-in ({@link #signedIn}); else a service, which may submit requests but never
 * reviews. Failing closed matters here: a machine's token that lacks every agent marker (an Entra
 * ID app token without {@code idtyp}, a CI system's OIDC token) would otherwise be taken for a
 * person and could approve. An agent needs an owner from {@code owner_claim}, resolved to the
 * principal the owner's own token is. Such an id may not be a declared identity's: the link must be
 * declared, never guessed. A service's token, like an agent's, teaches no link but its subject.
 */
final class TokenPrincipals {
    private static final Logger LOG = LoggerFactory.getLogger(TokenPrincipals.class);
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}");
    /** Claims that name the OAuth client; in a client-credentials token the subject is the client. */
    private static final List<String> CLIENT_ID_CLAIMS = List.of("client_id", "azp", "cid", "appid");

    private final ServerConfig.Issuer config;
    private final Identities identities;
    /**
     * Whether a person's token may be taken for a declared identity by something other than its
     * subject (a verified email, a link claim): then a person no token has shown yet may turn out to
     * be a declared identity, so an owner named by a subject cannot be resolved before it is seen.
     */
    private final boolean linkedByClaims;

    TokenPrincipals(ServerConfig.Issuer config, Identities identities) {
        this.config = config;
        this.identities = identities;
        this.linkedByClaims = identities.declaresAny(LinkKind.EMAIL)
                || config.linkClaims().keySet().stream().anyMatch(kind -> identities.declaresAny(linkKind(kind)));
    }

    /** The principal of bearer token {@code claims} (already verified), remembered with the links they carry. */
    Principal principal(JWTClaimsSet claims) {
        return principal(claims, false);
    }

    /**
     * The principal of an ID token (already verified) from a person's interactive sign-in
     * (authorization code flow, with this server's nonce): a person by how it was obtained, so an
     * undeclared one is human even without a verified email or {@code human_claim}, unless an agent
     * marker says it is an agent. A declared identity is its declared kind, as for any token.
     */
    Principal signedIn(JWTClaimsSet claims) {
        return principal(claims, true);
    }

    private Principal principal(JWTClaimsSet claims, boolean signedIn) {
        Principal p = principalOnce(claims, signedIn);
        // Null: a first token of the same person under another subject taught one of this token's links
        // meanwhile; resolved again, it is that person.
        if (p == null) p = principalOnce(claims, signedIn);
        if (p == null)
            throw new TokenRejectedException(
                    TokenProblem.AMBIGUOUS_PRINCIPAL,
                    "the token's links were learned for another principal while it was checked; retry");
        return p;
    }

    private Principal principalOnce(JWTClaimsSet claims, boolean signedIn) {
        Map<String, Object> c = claims.getClaims();
        String subject = text(c, "sub");
        if (subject == null) throw invalid("the token has no sub claim");
        String email = verifiedEmail(c);
        Set<String> groups = strings(c, config.groupsClaim());
        boolean agent = isAgent(c, subject);
        // An agent is its subject only: an email or a Slack id in its token may be its creator's.
        Map<LinkKind, String> links = agent ? subjectLink(subject) : links(c, subject, email);
        Optional<Principal> declared = declared(links).map(d -> withGroups(d, groups));
        if (declared.isPresent()) learnedForNoOneElse(declared.get(), links);
        Principal p = declared.orElseGet(() -> unlinked(c, subject, email, groups, kind(c, email, agent, signedIn)));
        // An undeclared service too: it is no person, so an email or Slack id in its token is not its own.
        // A person's links learned from an earlier token name them again, as declared links do.
        if (declared.isEmpty() && !agent) p = learned(p, links);
        if (declared.isEmpty() && p.kind() == PrincipalKind.SERVICE) links = subjectLink(subject);
        return identities.remember(p, links) ? p : null;
    }

    /**
     * The declared identity the token's links name, if any. Each link is the issuer's word for who
     * the person is, so any one matching makes the token that identity: otherwise carol, declared by
     * her Slack id, would be one principal with her API key and another with her token, and fill two
     * slots of a quorum. Links naming two identities are refused, since either choice would let one
     * token pass for someone its other claims say it is not.
     */
    private Optional<Principal> declared(Map<LinkKind, String> links) {
        Map<String, Principal> named = new LinkedHashMap<>();
        List<String> why = new ArrayList<>();
        links.forEach((kind, value) -> identities.declaredByLink(kind, value).ifPresent(p -> {
            named.putIfAbsent(p.id(), p);
            why.add(linkName(kind) + " is linked to " + p.id());
        }));
        if (named.size() > 1)
            throw new TokenRejectedException(
                    TokenProblem.AMBIGUOUS_PRINCIPAL,
                    "the token's " + String.join(", ", why) + ": one token is one person; correct the links in"
                            + " identities or the claims at the identity provider");
        return named.values().stream().findFirst();
    }

    /**
     * A declared identity's token whose other links a token taught to name someone else: either one
     * of the two is not this person, or one person has two ids, and would fill two slots of a quorum
     * or approve for their own agent under the other. Refused, with the fix.
     */
    private void learnedForNoOneElse(Principal declared, Map<LinkKind, String> links) {
        links.forEach((kind, value) -> identities
                .learned(kind, value)
                .filter(l -> !l.principal().equals(declared.id()))
                .ifPresent(l -> {
                    throw new TokenRejectedException(
                            TokenProblem.AMBIGUOUS_PRINCIPAL,
                            "the token is " + declared.id() + "'s by its declared links, but its " + linkName(kind)
                                    + " was first seen for " + l.principal() + ": if they are one person, declare"
                                    + " them with id '" + l.principal() + "'; if not, correct the claims at the"
                                    + " identity provider");
                }));
    }

    /**
     * The person an earlier token's links make this one: the same verified email or the same Slack
     * or Teams id under another subject (a second account, a pairwise subject) is the principal first
     * met with it, with this token's groups, so that one person fills one quorum slot and an agent's
     * owner cannot approve under a second subject. Links learned for two principals are refused, as
     * two declared ones are.
     */
    private Principal learned(Principal p, Map<LinkKind, String> links) {
        Map<String, String> named = new LinkedHashMap<>();
        Map<String, PrincipalKind> kinds = new LinkedHashMap<>();
        links.forEach((kind, value) -> identities.learned(kind, value).ifPresent(l -> {
            named.putIfAbsent(l.principal(), linkName(kind) + " was first seen for " + l.principal());
            kinds.putIfAbsent(l.principal(), l.principalKind());
        }));
        if (named.size() > 1)
            throw new TokenRejectedException(
                    TokenProblem.AMBIGUOUS_PRINCIPAL,
                    "the token's " + String.join(", ", named.values()) + ": one token is one person; correct the"
                            + " claims at the identity provider, or declare the person in identities");
        String id = named.keySet().stream().findFirst().orElse(p.id());
        if (id.equals(p.id())) return p;
        if (kinds.get(id) != PrincipalKind.HUMAN)
            throw new TokenRejectedException(
                    TokenProblem.AMBIGUOUS_PRINCIPAL,
                    "the token's " + named.get(id) + ", which is not a person: one token is one principal");
        return new Principal(id, PrincipalKind.HUMAN, p.groups(), null, null, null, p.attributes());
    }

    /**
     * What an undeclared token is. Human only on positive evidence of a person: a token without an
     * agent marker may still be a machine's, and only humans review.
     */
    private PrincipalKind kind(Map<String, Object> c, String email, boolean agent, boolean signedIn) {
        if (agent) return PrincipalKind.AGENT;
        ServerConfig.ClaimMatch person = config.humanClaim();
        boolean human = signedIn || (person == null ? email != null : matches(c, person));
        return human ? PrincipalKind.HUMAN : PrincipalKind.SERVICE;
    }

    private Principal unlinked(
            Map<String, Object> c, String subject, String email, Set<String> groups, PrincipalKind kind) {
        if (!config.allowUnlinked())
            throw unknown("subject '" + cut(subject) + "' of " + config.issuer() + " is linked to no declared identity,"
                    + " and this issuer admits declared identities only");
        String named = config.idClaim().equals("sub") ? subject : text(c, config.idClaim());
        if (named == null) throw invalid("the token has no " + config.idClaim() + " claim to name its principal");
        String id = principalId(named);
        boolean agent = kind == PrincipalKind.AGENT;
        String owner = agent ? owner(c, id) : null;
        if (agent && owner == null)
            throw unknown("agent '" + id + "' has no owner: declare it in identities with links.oidc, or have the"
                    + " identity provider send the " + config.ownerClaim() + " claim");
        if (kind == PrincipalKind.SERVICE) noteService(id);
        Map<String, String> attributes = email == null ? Map.of() : Map.of("email", email);
        return new Principal(id, kind, groups, owner, null, null, attributes);
    }

    /** Says why a token became a service (once per id, until it is seen as something else): it can never review. */
    private void noteService(String id) {
        if (identities.find(id).filter(p -> p.kind() == PrincipalKind.SERVICE).isPresent()) return;
        ServerConfig.ClaimMatch person = config.humanClaim();
        LOG.info(
                "'{}' of {} is a service: its token is linked to no declared identity, has no agent marker and {};"
                        + " it may submit requests but not review. If it is a person, declare it in identities"
                        + " (links.oidc)",
                id,
                config.issuer(),
                person == null
                        ? "no verified email (the person marker while human_claim is not set)"
                        : "does not match human_claim " + person.name() + " = " + person.value());
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

    /**
     * The owner agent {@code agent}'s token names, as the principal the owner's own token is:
     * separation of duties compares ids, so any other id lets the owner approve their own agent.
     *
     * <p>A declared id, and a subject or email linked to a declared identity or learned from the
     * owner's own token (at any time: learned links are stored), give that id exactly. {@code id_prefix + value} is exact only if the value is
     * what the owner's token is named by, and no declared identity can take that token by its email
     * or a link claim. Otherwise the owner cannot be known before their token is seen, and the agent
     * is refused rather than given a guessed owner. Refusing the agent, rather than at review time a
     * reviewer whose verified email is the owner claim, is deliberate: that check would need the
     * email in every reviewer's token on every channel (an access token often lacks it, and the owner
     * is the owner without it) and would cover emails only, while this way each request records its
     * owner's id, which every channel compares and which outlives a restart. The price is that such
     * an agent waits until its owner has signed in once, or, for good, until the owner is declared.
     */
    private String owner(Map<String, Object> c, String agent) {
        String named = text(c, config.ownerClaim());
        if (named == null) return null;
        if (identities.declared(named).isPresent()) return named;
        Optional<String> linked = identities.linkedId(LinkKind.OIDC, oidcLink(named));
        if (linked.isEmpty()) linked = identities.linkedId(LinkKind.EMAIL, named);
        if (linked.isPresent()) return linked.get();
        String id = config.idPrefix() + named;
        if (!ID.matcher(id).matches()) throw unknown("the owner '" + cut(named) + "' cannot be a principal id");
        if (seenPerson(id)) return id;
        boolean email = named.indexOf('@') > 0 && !config.idClaim().equals(config.emailClaim());
        if (email || linkedByClaims)
            throw unknown("the owner '" + cut(named) + "' of agent '" + agent + "' is neither declared nor known from"
                    + " a token of their own, so which principal they are cannot be told yet: declare them in"
                    + " identities (links.oidc or links.email), or retry once they have signed in");
        return id;
    }

    /** A person who came with a token of their own under this id (a declared identity cannot have). */
    private boolean seenPerson(String id) {
        return identities.declared(id).isEmpty()
                && identities.find(id).filter(Principal::isHuman).isPresent();
    }

    private boolean isAgent(Map<String, Object> c, String subject) {
        ServerConfig.ClaimMatch marker = config.agentClaim();
        if (marker != null && matches(c, marker)) return true;
        return config.clientCredentialsAgents() && clientCredentials(c, subject);
    }

    private static boolean matches(Map<String, Object> c, ServerConfig.ClaimMatch marker) {
        return strings(c, marker.name()).contains(marker.value());
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
            if (value != null && !value.isBlank()) links.put(linkKind(kind), value);
        });
        return links;
    }

    private static LinkKind linkKind(String configured) {
        return LinkKind.valueOf(configured.toUpperCase(java.util.Locale.ROOT));
    }

    private static String linkName(LinkKind kind) {
        return switch (kind) {
            case OIDC -> "subject";
            case EMAIL -> "verified email";
            case SLACK, TEAMS -> kind.wire() + " claim";
        };
    }

    private Map<LinkKind, String> subjectLink(String subject) {
        return Map.of(LinkKind.OIDC, oidcLink(subject));
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
