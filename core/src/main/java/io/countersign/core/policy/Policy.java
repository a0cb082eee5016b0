package io.countersign.core.policy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.cel.runtime.CelVariableResolver;
import io.countersign.core.ActionRequest;
import io.countersign.core.ApprovalRequirement;
import io.countersign.core.Decision;
import io.countersign.core.Principal;
import io.countersign.core.json.CanonicalJson;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A loaded policy: YAML rules whose {@code match} is a CEL expression over {@code requester},
 * {@code action}, {@code resource}, {@code context} and {@code now}.
 *
 * <p>Design notes.
 *
 * <ul>
 *   <li>Combining is order-independent: any matching {@code deny} wins; else every matching
 *       {@code require_approval} applies together (requirements naming the same approver pool merge
 *       to the larger count, the shortest TTLs win, a reason is required if any rule requires one);
 *       else any matching {@code allow}; else the file's {@code default}.
 *   <li>Fail closed. A match that errors at evaluation (a missing key, a type mismatch) counts as a
 *       match for {@code deny} and {@code require_approval} rules and as no match for {@code allow}
 *       rules, so an error can only make a decision stricter. {@link #explain} reports each error.
 *   <li>Speed: {@link #decide} runs as little CEL as it can, and gives what running every rule's
 *       whole program gives ({@link #explain} does that; {@code PolicyEquivalencePropertiesTest}
 *       checks they agree over generated policies and requests). It rests on one fact of CEL: {@code
 *       false && x} and {@code x && false} are false even when {@code x} errors, provided {@code x}
 *       is typed bool ({@link Rule} has the details and the condition). Three uses of it:
 *       <ol>
 *         <li>Index. A rule whose match is a conjunction pinning {@code action.type} to literals
 *             ({@code action.type == "db.export" && ...}, or {@code action.type in [...]}) cannot
 *             match a request of another type. Rules are indexed by pinned type at load; a decision
 *             considers only the unpinned rules and those pinned to the request's type.
 *         <li>Guards. A conjunct comparing a request field or a param with literals ({@code
 *             resource.env == "prod"}, {@code "pii" in resource.tags}, {@code action.params.rows >
 *             1000}) is evaluated in Java ({@link Guard}). A false guard makes the match false
 *             without CEL.
 *         <li>Residual programs. When every guard is true, only the other conjuncts run in CEL;
 *             when there are none, the match is true without CEL.
 *       </ol>
 *       The CEL variables are built lazily, once per decision ({@link CelInputs}), so a decision
 *       that runs no CEL builds none.
 *   <li>Immutable and thread-safe once loaded; CEL programs are shared across threads.
 *   <li>The version is {@code sha256:} and the hex SHA-256 of the file's bytes; every decision records it.
 * </ul>
 */
public final class Policy {
    private static final Pattern RULE_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,99}");
    private static final ObjectMapper YAML = YAMLMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            // A key written twice must not let the later one (say, decision: allow) silently win.
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    private static final java.util.regex.Pattern SECRET_NAME =
            java.util.regex.Pattern.compile("(?i).*(password|passwd|secret|token|credential|api_?key|private_?key).*");

    private final String version;
    private final Map<String, List<String>> keepInClear;
    private final List<Rule> rules;
    private final Effect defaultEffect;
    private final Map<String, Rule[]> candidatesByType;
    private final Rule[] unpinned;

    private Policy(String version, List<Rule> rules, Effect defaultEffect, Map<String, List<String>> keepInClear) {
        this.version = version;
        this.keepInClear = keepInClear;
        this.rules = List.copyOf(rules);
        this.defaultEffect = defaultEffect;
        this.unpinned = rules.stream().filter(r -> r.pinnedTypes().isEmpty()).toArray(Rule[]::new);
        this.candidatesByType = index(rules);
    }

    /** Parses and compiles a policy; throws {@link PolicyException} naming the rule and the error. */
    public static Policy parse(String yaml) {
        JsonNode tree = readTree(yaml);
        PolicyFile.Top top = convert(tree, PolicyFile.Top.class, "policy");
        if (top.version() == null || top.version() != 1) {
            throw new PolicyException("policy: 'version' must be 1; got " + top.version());
        }
        Effect defaultEffect =
                Effect.of(convert(top.defaultDecision(), PolicyFile.Outcome.class, "default"), "default");
        List<Rule> rules = compileRules(top.rules() == null ? List.of() : top.rules());
        return new Policy(versionOf(yaml), rules, defaultEffect, keepInClear(top.ledger()));
    }

    private static Map<String, List<String>> keepInClear(PolicyFile.Ledger ledger) {
        if (ledger == null || ledger.keepInClear() == null) return Map.of();
        for (var e : ledger.keepInClear().entrySet()) {
            for (String name : e.getValue() == null ? List.<String>of() : e.getValue()) {
                if (SECRET_NAME.matcher(name).matches())
                    throw new PolicyException("ledger.keep_in_clear." + e.getKey() + ": '" + name
                            + "' looks like a secret; secrets never enter the ledger");
            }
        }
        Map<String, List<String>> out = new java.util.HashMap<>();
        ledger.keepInClear().forEach((type, names) -> out.put(type, names == null ? List.of() : List.copyOf(names)));
        return Map.copyOf(out);
    }

    /** The names of the params of {@code actionType} whose values the ledger keeps in clear (policy's ledger.keep_in_clear). */
    public List<String> paramsInClear(String actionType) {
        return keepInClear.getOrDefault(actionType, List.of());
    }

    /** {@code sha256:} and the hex SHA-256 of the policy file's bytes. */
    public String version() {
        return version;
    }

    /** Rule names in file order. */
    public List<String> ruleNames() {
        return rules.stream().map(Rule::name).toList();
    }

    /** What policy decides for this request. Pure: no I/O; the inputs are converted at most once per decision. */
    public Decision decide(Principal requester, ActionRequest request, Instant now) {
        CelInputs in = new CelInputs(requester, request, now);
        Combiner combiner = new Combiner();
        for (Rule rule : candidates(request)) {
            if (rule.evaluate(in).counts(rule.effect())) combiner.add(rule);
        }
        return combiner.decision(defaultEffect, version);
    }

    /** The rules that may match {@code request}, in file order: those pinned to its type and the unpinned. */
    Rule[] candidates(ActionRequest request) {
        return candidatesByType.getOrDefault(request.action().type(), unpinned);
    }

    /** Every rule, in file order. */
    List<Rule> rules() {
        return rules;
    }

    /**
     * Whether policy denies {@code request} whatever its params: a deny rule that never reads {@code
     * action.params} matches it outright (an error counts as no match here). The MCP gateway hides such
     * tools from an agent's tool list; every call is still decided in full by {@link #decide}.
     */
    public boolean deniesWhateverTheParams(Principal requester, ActionRequest request, Instant now) {
        CelInputs in = new CelInputs(requester, request, now);
        for (Rule rule : candidates(request)) {
            if (rule.effect() instanceof Effect.Deny
                    && !rule.readsParams()
                    && rule.evaluate(in).matched()) return true;
        }
        return false;
    }

    /**
     * Every rule's result for this request, and the decision: what {@code policy explain} prints.
     * Runs every rule's CEL program, with no index and no guards, so it is also the reference that
     * {@link #decide} must agree with.
     */
    public Explanation explain(Principal requester, ActionRequest request, Instant now) {
        CelVariableResolver vars = new CelInputs(requester, request, now);
        Combiner combiner = new Combiner();
        List<Explanation.RuleResult> results = new ArrayList<>();
        for (Rule rule : rules) {
            Rule.Result r = rule.evaluateInCel(vars);
            if (r.counts(rule.effect())) combiner.add(rule);
            results.add(new Explanation.RuleResult(rule.name(), rule.effectName(), r.counts(rule.effect()), r.error()));
        }
        Decision decision = combiner.decision(defaultEffect, version);
        return new Explanation(decision, results, combiner.isEmpty());
    }

    private static JsonNode readTree(String yaml) {
        try {
            JsonNode tree = YAML.readTree(yaml);
            if (tree == null || !tree.isObject()) throw new PolicyException("policy: the file is not a YAML mapping");
            return tree;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            String at =
                    e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
            throw new PolicyException("policy: not valid YAML: " + e.getOriginalMessage() + at);
        }
    }

    private static <T> T convert(JsonNode node, Class<T> type, String where) {
        try {
            return YAML.treeToValue(node, type);
        } catch (UnrecognizedPropertyException e) {
            throw new PolicyException(
                    where + ": unknown field '" + e.getPropertyName() + "' (known: " + e.getKnownPropertyIds() + ")");
        } catch (com.fasterxml.jackson.core.JsonProcessingException | IllegalArgumentException e) {
            String msg = e instanceof com.fasterxml.jackson.core.JsonProcessingException j
                    ? j.getOriginalMessage()
                    : e.getMessage();
            throw new PolicyException(where + ": " + msg);
        }
    }

    private static List<Rule> compileRules(List<JsonNode> nodes) {
        List<Rule> rules = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < nodes.size(); i++) {
            JsonNode node = nodes.get(i);
            String label = ruleLabel(node, i);
            PolicyFile.Rule spec = convert(node, PolicyFile.Rule.class, label);
            requireName(spec.name(), label);
            if (!names.add(spec.name())) throw new PolicyException(label + ": a rule of that name exists already");
            if (spec.match() == null || spec.match().isBlank())
                throw new PolicyException(label + ": 'match' is required");
            Effect effect = Effect.of(spec.outcome(), label);
            rules.add(Rule.compile(i, spec.name(), spec.match(), effect, label));
        }
        return rules;
    }

    private static String ruleLabel(JsonNode node, int i) {
        JsonNode name = node.get("name");
        return name != null && name.isTextual() ? "rule '" + name.asText() + "'" : "rule #" + (i + 1);
    }

    private static void requireName(String name, String label) {
        if (name == null) throw new PolicyException(label + ": 'name' is required");
        if (!RULE_NAME.matcher(name).matches() || name.equals("default")) {
            throw new PolicyException(label + ": name must be lower-case letters, digits, - and _ (and not 'default')");
        }
    }

    private static Map<String, Rule[]> index(List<Rule> rules) {
        Set<String> types = new HashSet<>();
        rules.forEach(r -> types.addAll(r.pinnedTypes()));
        Map<String, Rule[]> byType = new HashMap<>();
        for (String type : types) {
            byType.put(
                    type,
                    rules.stream()
                            .filter(r ->
                                    r.pinnedTypes().isEmpty() || r.pinnedTypes().contains(type))
                            .toArray(Rule[]::new));
        }
        return Map.copyOf(byType);
    }

    private static String versionOf(String yaml) {
        return "sha256:" + HexFormat.of().formatHex(CanonicalJson.sha256(yaml.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Accumulates matched rules (in file order) and produces the combined decision. Plain loops, not
     * streams: this runs on every decision.
     */
    private static final class Combiner {
        private final List<Rule> denies = new ArrayList<>(2);
        private final List<Rule> approvals = new ArrayList<>(2);
        private final List<Rule> allows = new ArrayList<>(2);

        void add(Rule rule) {
            switch (rule.effect()) {
                case Effect.Deny d -> denies.add(rule);
                case Effect.RequireApproval r -> approvals.add(rule);
                case Effect.Allow a -> allows.add(rule);
            }
        }

        boolean isEmpty() {
            return denies.isEmpty() && approvals.isEmpty() && allows.isEmpty();
        }

        Decision decision(Effect defaultEffect, String version) {
            if (!denies.isEmpty()) {
                return new Decision.Deny(((Effect.Deny) denies.getFirst().effect()).reason(), names(denies), version);
            }
            if (!approvals.isEmpty()) return requireApproval(approvals, version);
            if (!allows.isEmpty()) return allow(allows, version);
            return fromDefault(defaultEffect, version);
        }

        private static Decision allow(List<Rule> matched, String version) {
            Duration ttl = null;
            for (Rule r : matched) ttl = shorter(ttl, ((Effect.Allow) r.effect()).grantTtl());
            return new Decision.Allow(names(matched), version, ttl);
        }

        private static Decision fromDefault(Effect effect, String version) {
            List<String> matched = List.of("default");
            return switch (effect) {
                case Effect.Allow a -> new Decision.Allow(matched, version, a.grantTtl());
                case Effect.Deny d -> new Decision.Deny(d.reason(), matched, version);
                case Effect.RequireApproval r ->
                    new Decision.RequireApproval(
                            r.approvals(),
                            r.pendingTtl(),
                            r.grantTtl(),
                            r.reasonRequired(),
                            matched,
                            version,
                            r.channels());
            };
        }

        /** Every requirement applies; the shortest TTLs win; a reason is required if any rule says so. */
        private static Decision requireApproval(List<Rule> matched, String version) {
            List<ApprovalRequirement> requirements = new ArrayList<>(matched.size());
            Duration pendingTtl = null;
            Duration grantTtl = null;
            boolean reasonRequired = false;
            Set<String> channels = new LinkedHashSet<>();
            for (Rule rule : matched) {
                Effect.RequireApproval e = (Effect.RequireApproval) rule.effect();
                for (ApprovalRequirement req : e.approvals()) merge(requirements, req);
                pendingTtl = shorter(pendingTtl, e.pendingTtl());
                grantTtl = shorter(grantTtl, e.grantTtl());
                reasonRequired |= e.reasonRequired();
                channels.addAll(e.channels());
            }
            return new Decision.RequireApproval(
                    requirements, pendingTtl, grantTtl, reasonRequired, names(matched), version, List.copyOf(channels));
        }

        /** A requirement naming the same pool as one already there merges to the larger count; others add. */
        private static void merge(List<ApprovalRequirement> merged, ApprovalRequirement req) {
            for (int i = 0; i < merged.size(); i++) {
                ApprovalRequirement m = merged.get(i);
                if (m.groups().equals(req.groups()) && m.users().equals(req.users())) {
                    if (m.count() < req.count()) merged.set(i, req);
                    return;
                }
            }
            merged.add(req);
        }

        private static Duration shorter(Duration a, Duration b) {
            return a == null || b.compareTo(a) < 0 ? b : a;
        }

        private static List<String> names(List<Rule> rules) {
            String[] names = new String[rules.size()];
            for (int i = 0; i < names.length; i++) names[i] = rules.get(i).name();
            return List.of(names);
        }
    }
}
