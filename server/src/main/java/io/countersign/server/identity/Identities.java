package io.countersign.server.identity;

import io.countersign.core.Principal;
import io.countersign.core.spi.Directory;
import io.countersign.server.config.ServerConfig;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every principal Countersign knows, and the outside identities linked to each: one person is one
 * principal whether they come with an API key, an OIDC token, or as a Slack, Teams or email user.
 * Separation of duties compares principal ids, so this is what keeps the requester, the agent's
 * owner and the on-behalf-of human out of their own approvals on every channel.
 *
 * <p>Declared identities and their links come from the config. Principals first met in a token
 * (people the identity provider knows and the config does not) are remembered with what their latest
 * token said, so that counting a quorum, which looks approvers up by id, sees the groups they were
 * admitted with. Links are declared, or learned from a token (a verified email, a configured Slack or
 * Teams claim); a declared link always wins over a learned one.
 *
 * <p>What is learned is held in memory: after a restart, a principal known only from tokens is
 * unknown until their next token. Quorums do not depend on it: each review keeps the groups its
 * reviewer had, and the quorum is counted with those.
 */
public final class Identities implements Directory {
    private final Map<String, Principal> declared;
    private final Map<String, String> declaredLinks;
    private final Map<String, Principal> seen = new ConcurrentHashMap<>();
    private final Map<String, String> learnedLinks = new ConcurrentHashMap<>();

    private Identities(Map<String, Principal> declared, Map<String, String> declaredLinks) {
        this.declared = Map.copyOf(declared);
        this.declaredLinks = Map.copyOf(declaredLinks);
    }

    /** The declared identities with their links (already validated: ids and links are unique). */
    public static Identities of(List<ServerConfig.Identity> identities) {
        Map<String, Principal> byId = new HashMap<>();
        Map<String, String> links = new HashMap<>();
        for (ServerConfig.Identity i : identities) {
            String id = i.principal().id();
            byId.put(id, i.principal());
            ServerConfig.Links l = i.links();
            if (l.oidc() != null) links.put(key(LinkKind.OIDC, l.oidc()), id);
            if (l.email() != null) links.put(key(LinkKind.EMAIL, l.email()), id);
            if (l.slack() != null) links.put(key(LinkKind.SLACK, l.slack()), id);
            if (l.teams() != null) links.put(key(LinkKind.TEAMS, l.teams()), id);
        }
        return new Identities(byId, links);
    }

    /** The principal as last seen in a token, else as declared. */
    @Override
    public Optional<Principal> find(String id) {
        Principal p = seen.get(id);
        return p != null ? Optional.of(p) : Optional.ofNullable(declared.get(id));
    }

    /**
     * The principal an outside identity belongs to, e.g. {@code resolve(SLACK, "U012ABC")}. Empty
     * when it is linked to no one: such a user is nobody here and cannot review.
     */
    public Optional<Principal> resolve(LinkKind kind, String externalId) {
        if (externalId == null || externalId.isBlank()) return Optional.empty();
        String k = key(kind, externalId);
        String id = declaredLinks.getOrDefault(k, learnedLinks.get(k));
        return id == null ? Optional.empty() : find(id);
    }

    /** Every principal known now: the declared ones, and those met in tokens (as last seen). */
    public java.util.Collection<Principal> all() {
        Map<String, Principal> out = new java.util.TreeMap<>(declared);
        out.putAll(seen);
        return java.util.List.copyOf(out.values());
    }

    /** The outside identity of {@code kind} linked to principal {@code id} (declared first), if any. */
    public Optional<String> link(String id, LinkKind kind) {
        String prefix = kind.wire() + " ";
        Optional<String> declaredLink = linkIn(declaredLinks, prefix, id);
        return declaredLink.isPresent() ? declaredLink : linkIn(learnedLinks, prefix, id);
    }

    private static Optional<String> linkIn(Map<String, String> links, String prefix, String id) {
        return links.entrySet().stream()
                .filter(e -> e.getValue().equals(id) && e.getKey().startsWith(prefix))
                .map(e -> e.getKey().substring(prefix.length()))
                .sorted()
                .findFirst();
    }

    /** A declared principal, as the config has it. */
    Optional<Principal> declared(String id) {
        return Optional.ofNullable(declared.get(id));
    }

    /** The declared principal a declared link names. */
    Optional<Principal> declaredByLink(LinkKind kind, String externalId) {
        return Optional.ofNullable(declaredLinks.get(key(kind, externalId))).map(declared::get);
    }

    /** The principal id a token taught {@code kind} {@code externalId} to name (declared links aside). */
    Optional<String> learned(LinkKind kind, String externalId) {
        return Optional.ofNullable(learnedLinks.get(key(kind, externalId)));
    }

    /** Whether any declared identity has a link of {@code kind}. */
    boolean declaresAny(LinkKind kind) {
        String prefix = kind.wire() + " ";
        return declaredLinks.keySet().stream().anyMatch(k -> k.startsWith(prefix));
    }

    /** Remembers what a verified token said about {@code p}, and the links it carried. */
    void remember(Principal p, Map<LinkKind, String> links) {
        seen.put(p.id(), p);
        links.forEach((kind, value) -> {
            String k = key(kind, value);
            if (!declaredLinks.containsKey(k)) learnedLinks.put(k, p.id());
        });
    }

    private static String key(LinkKind kind, String value) {
        return kind.wire() + " " + kind.normalise(value);
    }
}
