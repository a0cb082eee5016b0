package io.countersign.server.identity;

import io.countersign.core.LearnedLink;
import io.countersign.core.Principal;
import io.countersign.core.SystemEvents;
import io.countersign.core.spi.Directory;
import io.countersign.core.spi.RequestStore;
import io.countersign.server.config.ConfigException;
import io.countersign.server.config.ServerConfig;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
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
 * <p>A learned link is stored, with an {@code identity.linked} ledger event, before the token that
 * taught it is accepted, and never points elsewhere afterwards: a restart must not let a person who
 * approved under one subject come back under another as a second approver, or as a stranger to their
 * own agent. The principals themselves, as their tokens last described them, are held in memory
 * only: after a restart, one known only from tokens is unknown until their next token. Quorums do not
 * depend on that: each review keeps the groups its reviewer had, and the quorum is counted with those.
 */
public final class Identities implements Directory {
    private final Map<String, Principal> declared;
    private final Map<String, String> declaredLinks;
    private final Map<String, Principal> seen = new ConcurrentHashMap<>();
    private final Map<String, LearnedLink> learnedLinks = new ConcurrentHashMap<>();
    private final RequestStore store;
    private final Clock clock;

    private Identities(
            Map<String, Principal> declared, Map<String, String> declaredLinks, RequestStore store, Clock clock) {
        this.declared = Map.copyOf(declared);
        this.declaredLinks = Map.copyOf(declaredLinks);
        this.store = store;
        this.clock = clock;
        for (LearnedLink l : store.learnedLinks()) {
            String declaredFor = this.declaredLinks.get(key(l));
            if (declaredFor != null && !declaredFor.equals(l.principal()))
                throw new ConfigException("identities: " + declaredFor + "'s links." + l.kind() + " '" + l.value()
                        + "' has named '" + l.principal() + "' since " + l.learnedAt() + ", learned from a token of"
                        + " theirs; declare this person with id '" + l.principal() + "', so that what they did under"
                        + " that id and what they do now are one person's");
            learnedLinks.put(key(l), l);
        }
    }

    /**
     * The declared identities with their links (already validated: ids and links are unique), and the
     * links {@code store} has learned; links learned from now on are stored there.
     *
     * @throws ConfigException when a declared link was learned for another principal: the person
     *     would be two principals, their declared id and the one they acted under, and could fill two
     *     slots of a quorum or approve for their own agent; they are to be declared under the id they
     *     already have
     */
    public static Identities of(List<ServerConfig.Identity> identities, RequestStore store, Clock clock) {
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
        return new Identities(byId, links, store, clock);
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
        return linkedId(k).flatMap(this::find);
    }

    /**
     * The id of the principal an outside identity is linked to, declared or learned, whether or not
     * that principal has come with a token since the server started.
     */
    Optional<String> linkedId(LinkKind kind, String externalId) {
        return linkedId(key(kind, externalId));
    }

    private Optional<String> linkedId(String k) {
        String id = declaredLinks.get(k);
        if (id != null) return Optional.of(id);
        LearnedLink l = learnedLinks.get(k);
        return l == null ? Optional.empty() : Optional.of(l.principal());
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
        if (declaredLink.isPresent()) return declaredLink;
        return learnedLinks.values().stream()
                .filter(l -> l.principal().equals(id) && l.kind().equals(kind.wire()))
                .map(LearnedLink::value)
                .sorted()
                .findFirst();
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

    /** What a token taught {@code kind} {@code externalId} to name (declared links aside). */
    Optional<LearnedLink> learned(LinkKind kind, String externalId) {
        return Optional.ofNullable(learnedLinks.get(key(kind, externalId)));
    }

    /** Whether any declared identity has a link of {@code kind}. */
    boolean declaresAny(LinkKind kind) {
        String prefix = kind.wire() + " ";
        return declaredLinks.keySet().stream().anyMatch(k -> k.startsWith(prefix));
    }

    /**
     * Remembers what a verified token said about {@code p}, and learns the links it carried that were
     * neither declared nor learned: stored, one {@code identity.linked} event each, in one write that
     * returns once durable, so a token whose links cannot be kept is not accepted. False when another
     * token learned one of them for someone else since {@code p} was resolved (two first tokens of one
     * person at once): nothing was written, what is stored now is known here, and the token is to be
     * resolved again.
     */
    boolean remember(Principal p, Map<LinkKind, String> links) {
        Instant now = clock.instant();
        List<LearnedLink> fresh = new ArrayList<>();
        boolean someoneElses = false;
        for (Map.Entry<LinkKind, String> e : links.entrySet()) {
            String k = key(e.getKey(), e.getValue());
            if (declaredLinks.containsKey(k)) continue;
            LearnedLink known = learnedLinks.get(k);
            if (known == null)
                fresh.add(
                        new LearnedLink(e.getKey().wire(), e.getKey().normalise(e.getValue()), p.id(), p.kind(), now));
            else someoneElses |= !known.principal().equals(p.id());
        }
        // Learned for someone else after p was resolved: resolved again, the token is that person.
        if (someoneElses) return false;
        if (!fresh.isEmpty() && !learn(p, fresh)) return false;
        seen.put(p.id(), p);
        return true;
    }

    private boolean learn(Principal p, List<LearnedLink> fresh) {
        List<LearnedLink> earlier = store.write(tx -> {
            List<LearnedLink> found = new ArrayList<>();
            for (LearnedLink l : fresh) tx.learnedLink(l.kind(), l.value()).ifPresent(found::add);
            if (found.stream().anyMatch(l -> !l.principal().equals(p.id()))) return found;
            for (LearnedLink l : fresh) {
                if (found.stream()
                        .anyMatch(e -> e.kind().equals(l.kind()) && e.value().equals(l.value()))) continue;
                tx.learn(l);
                tx.append(SystemEvents.identityLinked(l));
            }
            return found;
        });
        boolean ours = earlier.stream().allMatch(l -> l.principal().equals(p.id()));
        earlier.forEach(l -> learnedLinks.putIfAbsent(key(l), l));
        if (ours) fresh.forEach(l -> learnedLinks.putIfAbsent(key(l), l));
        return ours;
    }

    private static String key(LearnedLink l) {
        return l.kind() + " " + l.value();
    }

    private static String key(LinkKind kind, String value) {
        return kind.wire() + " " + kind.normalise(value);
    }
}
