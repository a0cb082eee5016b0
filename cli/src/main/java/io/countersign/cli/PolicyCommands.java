package io.countersign.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.countersign.core.ActionRequest;
import io.countersign.core.Decision;
import io.countersign.core.Principal;
import io.countersign.core.json.Json;
import io.countersign.core.policy.Explanation;
import io.countersign.core.policy.Policy;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.DemoIdentities;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "policy",
        mixinStandardHelpOptions = true,
        description = "Test and explain policy files, offline.",
        subcommands = {PolicyCommands.Test.class, PolicyCommands.Explain.class})
final class PolicyCommands implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final ObjectMapper YAML = YAMLMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .addModule(new JavaTimeModule())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    static Policy load(Path file) throws IOException {
        return Policy.parse(Files.readString(file));
    }

    /** Principals from a config file, or the demo cast. */
    static Map<String, Principal> principals(Path config) {
        List<Principal> all = config == null
                ? DemoIdentities.principals()
                : ConfigLoader.load(new ConfigLoader.Overrides(config, null, null, null, null))
                        .principals()
                        .values()
                        .stream()
                        .toList();
        return all.stream().collect(Collectors.toMap(Principal::id, Function.identity()));
    }

    /** A fixtures file: requests and the decision each must get. */
    record Fixtures(List<Fixture> fixtures) {}

    record Fixture(String name, String requester, JsonNode request, Instant now, Expect expect) {}

    record Expect(String decision, List<String> rules, String reason, List<Map<String, Object>> approvals) {}

    @Command(
            name = "test",
            mixinStandardHelpOptions = true,
            description = {
                "Run fixtures against a policy: each fixture is a request and the decision it must get.",
                "Exits 1 and prints what differs when any fixture fails. See examples/policy-tests.yaml."
            })
    static final class Test implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "POLICY", description = "The policy file, e.g. examples/policy.yaml")
        Path policyFile;

        @Parameters(
                index = "1",
                paramLabel = "FIXTURES",
                description = "The fixtures file, e.g. examples/policy-tests.yaml")
        Path fixturesFile;

        @Option(
                names = "--config",
                paramLabel = "FILE",
                description = "Take principals from this server config (default: the demo identities)")
        Path config;

        @Override
        public Integer call() throws IOException {
            Policy policy = load(policyFile);
            Map<String, Principal> principals = principals(config);
            Fixtures fixtures =
                    Main.reading(fixturesFile, () -> YAML.readValue(Files.readString(fixturesFile), Fixtures.class));
            int failed = 0;
            for (Fixture f : fixtures.fixtures()) {
                List<String> diff = check(policy, principals, f);
                System.out.println((diff.isEmpty() ? "PASS  " : "FAIL  ") + f.name());
                diff.forEach(line -> System.out.println("        " + line));
                if (!diff.isEmpty()) failed++;
            }
            int total = fixtures.fixtures().size();
            System.out.println((total - failed) + " passed, " + failed + " failed (policy "
                    + policy.version().substring(0, 19) + "...)");
            return failed == 0 ? 0 : 1;
        }

        private static List<String> check(Policy policy, Map<String, Principal> principals, Fixture f)
                throws IOException {
            Principal who = principals.get(f.requester());
            if (who == null) return List.of("unknown requester '" + f.requester() + "'");
            ActionRequest request = Json.mapper().treeToValue(f.request(), ActionRequest.class);
            Decision d = policy.decide(who, request, f.now() == null ? Instant.now() : f.now());
            List<String> diff = new ArrayList<>();
            String outcome = outcome(d);
            compare(diff, "decision", f.expect().decision(), outcome);
            if (f.expect().rules() != null) compare(diff, "rules", f.expect().rules(), d.matchedRules());
            if (f.expect().reason() != null)
                compare(diff, "reason", f.expect().reason(), d instanceof Decision.Deny x ? x.reason() : null);
            if (f.expect().approvals() != null) {
                // Both sides normalised: approver groups and users are sets, so their order must not count.
                Object actual = d instanceof Decision.RequireApproval r
                        ? normalise(Json.mapper().convertValue(r.approvals(), new TypeReference<>() {}))
                        : null;
                compare(
                        diff,
                        "approvals",
                        Json.mapper().convertValue(normalise(f.expect().approvals()), List.class),
                        actual);
            }
            return diff;
        }

        private static List<Map<String, Object>> normalise(List<Map<String, Object>> approvals) {
            List<Map<String, Object>> out = new ArrayList<>();
            for (Map<String, Object> a : approvals) {
                var groups = new ArrayList<Object>();
                var users = new ArrayList<Object>();
                if (a.get("group") != null) groups.add(a.get("group"));
                if (a.get("groups") instanceof List<?> l) groups.addAll(l);
                if (a.get("user") != null) users.add(a.get("user"));
                if (a.get("users") instanceof List<?> l) users.addAll(l);
                groups.sort(java.util.Comparator.comparing(String::valueOf));
                users.sort(java.util.Comparator.comparing(String::valueOf));
                var m = new java.util.LinkedHashMap<String, Object>();
                if (!groups.isEmpty()) m.put("groups", groups);
                if (!users.isEmpty()) m.put("users", users);
                m.put("count", a.getOrDefault("count", 1));
                out.add(m);
            }
            return out;
        }

        private static void compare(List<String> diff, String what, Object expected, Object actual) {
            if (!String.valueOf(expected).equals(String.valueOf(actual))) {
                diff.add("- " + what + ": " + expected);
                diff.add("+ " + what + ": " + actual);
            }
        }
    }

    static String outcome(Decision d) {
        return switch (d) {
            case Decision.Allow a -> "allow";
            case Decision.Deny x -> "deny";
            case Decision.RequireApproval r -> "require_approval";
        };
    }

    @Command(
            name = "explain",
            mixinStandardHelpOptions = true,
            description =
                    "Show which rules match a request (a JSON file, the API's request body) and the resulting decision.")
    static final class Explain implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "POLICY", description = "The policy file, e.g. examples/policy.yaml")
        Path policyFile;

        @Parameters(
                index = "1",
                paramLabel = "REQUEST",
                description = "The request as JSON (the API's request body), e.g. examples/requests/pii-export.json")
        Path requestFile;

        @Option(
                names = "--as",
                paramLabel = "ID",
                defaultValue = "deploy-bot",
                description = "The requester (default: ${DEFAULT-VALUE})")
        String as;

        @Option(
                names = "--config",
                paramLabel = "FILE",
                description = "Take principals from this server config (default: the demo identities)")
        Path config;

        @Option(names = "--json", description = "Print the explanation as JSON")
        boolean json;

        @Override
        public Integer call() throws IOException {
            Policy policy = load(policyFile);
            Map<String, Principal> principals = principals(config);
            Principal who = principals.get(as);
            if (who == null)
                throw new IllegalArgumentException("unknown requester '" + as + "' (known: "
                        + String.join(", ", new java.util.TreeSet<>(principals.keySet()))
                        + (config == null
                                ? "; the demo identities, or those of --config FILE)"
                                : ", from " + config + ")"));
            ActionRequest request = Main.reading(
                    requestFile, () -> Json.mapper().readValue(Files.readString(requestFile), ActionRequest.class));
            Explanation e = policy.explain(who, request, Instant.now());
            if (json) {
                System.out.println(
                        Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(e));
                return 0;
            }
            System.out.println("policy " + policy.version());
            for (Explanation.RuleResult r : e.rules()) {
                System.out.printf(
                        "  %-8s %-40s %s%s%n",
                        r.matched() ? "MATCH" : "-",
                        r.rule(),
                        r.effect(),
                        r.error() == null
                                ? ""
                                : "   (error: " + r.error()
                                        + (r.matched() ? "; counted as a match, failing closed)" : ")"));
            }
            if (e.defaultApplied()) System.out.println("  no rule matched: the default applies");
            System.out.println("decision: " + Text.decision(Json.mapper().valueToTree(e.decision())));
            return 0;
        }
    }
}
