package io.countersign.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.cli.CliFixture.Run;
import io.countersign.server.ApiKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CliTest {
    private static final String[] PII_EXPORT = {
        "request", "--type", "db.export", "--param", "table=customers", "--resource", "table:customers",
        "--env", "prod", "--tag", "pii", "--justification", "x", "--json"
    };

    @TempDir
    Path dir;

    CliFixture cs;

    @BeforeEach
    void start() {
        cs = new CliFixture(dir.resolve("data"));
    }

    @AfterEach
    void stop() {
        cs.close();
    }

    @Test
    void requestPrintsThePendingRequestAsJson() {
        Run r = cs.as("deploy-bot", PII_EXPORT);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.json().path("state").asText()).isEqualTo("pending");
        assertThat(r.json().path("action").path("params").path("table").asText())
                .isEqualTo("customers");
        assertThat(r.json().path("resource").path("tags").get(0).asText()).isEqualTo("pii");
    }

    @Test
    void eligibleReviewerApprovesWithAReason() {
        String id = submitted();
        Run r = cs.as("bob", "review", id, "--approve", "--reason", "ok");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains(id + "  PENDING").contains("review:    bob approve \"ok\" via cli");
    }

    @Test
    void ownersReviewExitsThreeAndPrintsTheProblem() {
        String id = submitted();
        Run r = cs.as("alice", "review", id, "--approve", "--reason", "ok");
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.err()).contains("urn:countersign:problem:owner-review");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void pendingListShowsTheRequestToAnEligibleReviewer() {
        String id = submitted();
        Run r = cs.as("carol", "requests", "--state", "pending");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains(id).contains("db.export").contains("by deploy-bot");
    }

    @Test
    void pendingListIsEmptyForTheAgentsOwner() {
        submitted();
        Run r = cs.as("alice", "requests", "--state", "pending");
        assertThat(r.out().strip()).isEqualTo("(no requests)");
    }

    @Test
    void getPrintsTheRequestAsJson() {
        String id = submitted();
        Run r = cs.as("bob", "get", id, "--json");
        assertThat(r.exitCode()).isZero();
        assertThat(r.json().path("id").asText()).isEqualTo(id);
        assertThat(r.json().path("decision").path("matched_rules").get(0).asText())
                .isEqualTo("pii-export-in-prod");
    }

    @Test
    void getOfAnUnknownRequestExitsFour() {
        String id = submitted();
        String other = id.substring(0, id.length() - 1) + (id.endsWith("0") ? "1" : "0");
        assertThat(cs.as("bob", "get", other).exitCode()).isEqualTo(4);
    }

    @Test
    void requesterCancels() {
        String id = submitted();
        Run r = cs.as("deploy-bot", "cancel", id, "--json");
        assertThat(r.exitCode()).isZero();
        assertThat(r.json().path("state").asText()).isEqualTo("cancelled");
        assertThat(cs.as("deploy-bot", "cancel", id).exitCode()).isEqualTo(5);
    }

    @Test
    void keygenPrintsAKeyAndItsHash() {
        Run r = CliFixture.run("keygen");
        Matcher key = Pattern.compile("api key .*: (cs_[A-Za-z0-9_-]{43})").matcher(r.out());
        Matcher hash = Pattern.compile("api_key_sha256 .*: +([0-9a-f]{64})").matcher(r.out());
        assertThat(key.find()).as(r.out()).isTrue();
        assertThat(hash.find()).as(r.out()).isTrue();
        assertThat(ApiKeys.sha256Hex(key.group(1))).isEqualTo(hash.group(1));
    }

    @Test
    void keygenWebhookPrintsAStandardWebhooksSecretOfThirtyTwoRandomBytes() {
        String first = CliFixture.run("keygen", "--webhook").out().strip();
        String second = CliFixture.run("keygen", "--webhook").out().strip();
        assertThat(first).startsWith("whsec_").isNotEqualTo(second);
        assertThat(java.util.Base64.getDecoder().decode(first.substring(6))).hasSize(32);
    }

    @Test
    void everySubcommandAnswersHelp() {
        List<List<String>> paths = subcommandPaths(new CommandLine(new Main()), List.of());
        assertThat(paths).contains(List.of("policy", "test"), List.of("policy", "explain"), List.of("keygen"));
        for (List<String> path : paths) {
            List<String> args = new ArrayList<>(path);
            args.add("--help");
            Run r = CliFixture.run(args.toArray(String[]::new));
            assertThat(r.exitCode()).as(String.join(" ", args)).isZero();
            assertThat(r.out()).as(String.join(" ", args)).contains("Usage:");
        }
    }

    @Test
    void helpPrintsTheHelpOfTheDeepestCommandNamed() {
        Run r = CliFixture.run("help", "ledger", "verify");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).startsWith("Usage: countersign ledger verify");
        for (List<String> path : subcommandPaths(new CommandLine(new Main()), List.of())) {
            List<String> help = new ArrayList<>(List.of("help"));
            help.addAll(path);
            List<String> option = new ArrayList<>(path);
            option.add("--help");
            assertThat(CliFixture.run(help.toArray(String[]::new)).out())
                    .as(String.join(" ", help))
                    .isEqualTo(CliFixture.run(option.toArray(String[]::new)).out());
        }
    }

    @Test
    void helpForAnUnknownSubcommandIsAUsageErrorThatNamesIt() {
        Run r = CliFixture.run("help", "ledger", "verfy");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(r.err()).contains("'verfy'").contains("countersign ledger");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void everySubcommandAnswersVersion() {
        for (List<String> path : subcommandPaths(new CommandLine(new Main()), List.of())) {
            List<String> args = new ArrayList<>(path);
            args.add("--version");
            Run r = CliFixture.run(args.toArray(String[]::new));
            assertThat(r.exitCode()).as(String.join(" ", args)).isZero();
            assertThat(r.out().strip()).as(String.join(" ", args)).isEqualTo("countersign 0.1.0");
        }
    }

    @Test
    void aServerThatIsNoUrlOrDoesNotAnswerIsSaidInWords() throws java.io.IOException {
        Run notUrl = CliFixture.run("requests", "--server", "notaurl", "--key", "k");
        assertThat(notUrl.exitCode()).as(notUrl.toString()).isEqualTo(2);
        assertThat(notUrl.err()).contains("--server: 'notaurl' is not an http:// or https:// URL");

        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        Run refused = CliFixture.run("requests", "--server", "http://127.0.0.1:" + closed, "--key", "k");
        assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(1);
        assertThat(refused.err())
                .contains("cannot reach Countersign at http://127.0.0.1:" + closed + ": connection refused")
                .doesNotContain("java.net");
    }

    @Test
    void aMissingInputFileIsAUsageErrorThatSaysSo() {
        String missing = dir.resolve("missing.json").toString();
        Run r = CliFixture.run("policy", "test", missing, missing);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("countersign: no such file or directory: " + missing);
    }

    @Test
    void everyOptionAndParameterSaysWhatItIs() {
        List<String> missing = new ArrayList<>();
        for (CommandLine.Model.CommandSpec c : commands(new CommandLine(new Main()))) {
            for (CommandLine.Model.OptionSpec o : c.options()) {
                if (o.usageHelp() || o.versionHelp()) continue;
                String what = c.qualifiedName() + " " + o.longestName();
                if (!described(o.description())) missing.add(what + ": no description");
                // A flag shows no label; one that takes a value shows it, as --limit=N rather than --limit=<limit>.
                if (o.arity().max() > 0 && o.paramLabel().contains("<")) missing.add(what + "=" + o.paramLabel());
            }
            for (CommandLine.Model.PositionalParamSpec p : c.positionalParameters()) {
                String what = c.qualifiedName() + " " + p.paramLabel();
                if (!described(p.description())) missing.add(what + ": no description");
                if (p.paramLabel().contains("<")) missing.add(what + ": label in angle brackets");
            }
        }
        assertThat(missing).isEmpty();
    }

    @Test
    void helpBreaksLinesOnlyBetweenParagraphsAndListItems() {
        List<String> broken = new ArrayList<>();
        for (CommandLine.Model.CommandSpec c : commands(new CommandLine(new Main()))) {
            for (String line : c.usageMessage().description()) {
                // A paragraph is whole sentences; an indented line (a list item, an example) must fit the
                // help's width, or picocli wraps it flush left, out of its list.
                boolean item = line.startsWith(" ");
                if (item ? line.length() > c.usageMessage().width() : !line.matches(".*[.:]"))
                    broken.add(c.qualifiedName() + ": " + line);
            }
        }
        assertThat(broken).isEmpty();
    }

    @Test
    void mcpAndLedgerExportOfferNoJsonTheyWouldIgnore() {
        CommandLine root = new CommandLine(new Main());
        assertThat(root.getSubcommands().get("mcp").getCommandSpec().findOption("--json"))
                .isNull();
        assertThat(root.getSubcommands()
                        .get("ledger")
                        .getSubcommands()
                        .get("export")
                        .getCommandSpec()
                        .findOption("--json"))
                .isNull();
        assertThat(root.getSubcommands().get("get").getCommandSpec().findOption("--json"))
                .isNotNull();
        Run r = cs.as("bob", "ledger", "export", "--out", dir.resolve("export").toString(), "--json");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(r.err()).contains("Unknown option: '--json'");
        assertThat(dir.resolve("export")).doesNotExist();
    }

    @Test
    void eventsShowWhyAReviewOrRedeemWasRefusedAndTheResultHash() {
        String id = submitted();
        assertThat(cs.as("alice", "review", id, "--approve", "--reason", "mine").exitCode())
                .isEqualTo(3);
        assertThat(cs.as("bob", "review", id, "--approve", "--reason", "ok").exitCode())
                .isZero();
        assertThat(cs.as("carol", "review", id, "--approve", "--reason", "ok").exitCode())
                .isZero();
        String digest =
                cs.as("deploy-bot", "get", id, "--json").json().path("digest").asText();
        String wrong = digest.substring(0, 63) + (digest.endsWith("0") ? "1" : "0");
        assertThat(cs.as("deploy-bot", "redeem", id, "--digest", wrong).exitCode())
                .isNotZero();
        assertThat(cs.as("deploy-bot", "redeem", id, "--digest", digest).exitCode())
                .isZero();
        String result = "3f2a9c1b0e7d" + "0".repeat(52);
        Run outcome = cs.as(
                "deploy-bot", "outcome", id, "--status", "executed", "--result-sha256", result, "--detail", "41 rows");
        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();

        Run r = cs.as("bob", "events", id);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out())
                .containsPattern("review\\.refused +alice +owner-review \"[^\"\\n]+\"")
                .containsPattern("grant\\.redeem_refused +deploy-bot +digest-mismatch \"the grant is bound to")
                .containsPattern("review\\.recorded +bob +approve \"ok\"")
                .containsPattern("request\\.executed +deploy-bot +result 3f2a9c1b0e7d\\.\\.\\. \"41 rows\"");
        assertThat(r.out().lines()).noneMatch(line -> line.endsWith(" "));
    }

    @Test
    void requestsListKeepsItsColumnsAlignedPastALongResourceName() {
        for (String resource : List.of("zone:example.com", "mcp_tool:memory/create_entities")) {
            Run r = cs.as("deploy-bot", "request", "--type", "dns.update", "--resource", resource, "--json");
            assertThat(r.exitCode()).as(r.toString()).isZero();
        }
        Run r = cs.as("deploy-bot", "requests");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        List<String> lines = r.out().strip().lines().toList();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0).indexOf("by deploy-bot"))
                .as(r.out())
                .isEqualTo(lines.get(1).indexOf("by deploy-bot"));
        assertThat(lines).allMatch(line -> line.endsWith("by deploy-bot"));
    }

    @Test
    void requestWaitPrintsTheIdBetweenSpacesForADoubleClickToCopy() {
        Run r = cs.as(
                "deploy-bot", "request", "--type", "dns.update", "--resource", "zone:example.com", "--wait", "1s");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        String id = r.out().substring(0, r.out().indexOf(' '));
        assertThat(id).startsWith("req_");
        assertThat(r.err()).startsWith("submitted " + id + " ");
    }

    private static boolean described(String[] description) {
        return description.length > 0 && !String.join("", description).isBlank();
    }

    /** The command and every command under it. */
    private static List<CommandLine.Model.CommandSpec> commands(CommandLine cmd) {
        List<CommandLine.Model.CommandSpec> out = new ArrayList<>(List.of(cmd.getCommandSpec()));
        cmd.getSubcommands().values().forEach(sub -> out.addAll(commands(sub)));
        return out;
    }

    private static List<List<String>> subcommandPaths(CommandLine cmd, List<String> prefix) {
        List<List<String>> out = new ArrayList<>();
        cmd.getSubcommands().forEach((name, sub) -> {
            List<String> path = new ArrayList<>(prefix);
            path.add(name);
            out.add(path);
            out.addAll(subcommandPaths(sub, path));
        });
        return out;
    }

    @Test
    void policyTestPassesWhenEveryFixtureMatches() throws IOException {
        Run r = CliFixture.run(
                "policy",
                "test",
                CliFixture.POLICY.toString(),
                fixtures("require_approval").toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("PASS  pii export").contains("2 passed, 0 failed");
    }

    @Test
    void policyTestFailsAndShowsTheDifference() throws IOException {
        Run r = CliFixture.run(
                "policy",
                "test",
                CliFixture.POLICY.toString(),
                fixtures("allow").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out())
                .contains("FAIL  pii export")
                .contains("- decision: allow")
                .contains("+ decision: require_approval")
                .contains("1 passed, 1 failed");
    }

    @Test
    void policyTestComparesApproverGroupsWhateverTheirOrder() throws IOException {
        Path policy = Files.writeString(dir.resolve("two-groups.yaml"), """
                version: 1
                default: { decision: require_approval, approvals: [{ groups: [security, data-owners], count: 1 }] }
                rules: []
                """);
        Run r = CliFixture.run(
                "policy", "test", policy.toString(), groupOrderFixtures().toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
    }

    @Test
    void policyExplainShowsTheMatchingRule() throws IOException {
        Path request = Files.writeString(dir.resolve("request.json"), """
                {"action": {"type": "db.export", "params": {"table": "customers"}},
                 "resource": {"type": "table", "id": "customers", "env": "prod", "tags": ["pii"]}}""");
        Run r = CliFixture.run(
                "policy", "explain", CliFixture.POLICY.toString(), request.toString(), "--as", "deploy-bot");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).containsPattern("MATCH +pii-export-in-prod");
        assertThat(r.out()).containsPattern("- +reads-are-fine");
        assertThat(r.out()).contains("decision: require_approval (pii-export-in-prod): 2 of group data-owners");
    }

    @Test
    void policyExplainNamesTheFileItCannotReadAndTheRequestersItKnows() throws IOException {
        Path broken = Files.writeString(dir.resolve("broken.json"), "{\"action\": {\n");
        Run notJson = CliFixture.run(
                "policy", "explain", CliFixture.POLICY.toString(), broken.toString(), "--as", "deploy-bot");
        assertThat(notJson.exitCode()).as(notJson.toString()).isEqualTo(2);
        assertThat(notJson.err()).contains("countersign: " + broken + ": not valid JSON: ");
        Run nobody =
                CliFixture.run("policy", "explain", CliFixture.POLICY.toString(), broken.toString(), "--as", "nobody");
        assertThat(nobody.exitCode()).isEqualTo(2);
        assertThat(nobody.err())
                .contains(
                        "unknown requester 'nobody' (known: alice, bob, carol, dave, deploy-bot, erin, etl-pipeline;");
    }

    @Test
    void aRequestFileThatIsNotJsonIsNamed() throws IOException {
        Path broken = Files.writeString(dir.resolve("req.json"), "{\"action\": ");
        Run r = cs.as("deploy-bot", "request", "--file", broken.toString());
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
        assertThat(r.err()).contains("countersign: " + broken + ": not valid JSON: ");
    }

    @Test
    void noCommandPrintsTheUsageAndExitsWithTheUsageCode() {
        Run r = CliFixture.run();
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("Usage: countersign").contains("serve");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void aClientOptionBeforeTheCommandIsSaidToGoAfterIt() {
        Run r = CliFixture.run("--server", "http://127.0.0.1:1", "get", "req_01M7ZR1EZDYMJANPNFV1PKHEKS");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err())
                .isEqualTo("countersign: --server goes after the command, e.g. countersign get --server VALUE ID"
                        + " (see countersign COMMAND --help)" + System.lineSeparator());
        Run other = CliFixture.run("--nonsense", "get", "req_01M7ZR1EZDYMJANPNFV1PKHEKS");
        assertThat(other.exitCode()).isEqualTo(2);
        assertThat(other.err()).contains("--nonsense").doesNotContain("goes after the command");
    }

    private String submitted() {
        Run r = cs.as("deploy-bot", PII_EXPORT);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        return r.json().path("id").asText();
    }

    private Path fixtures(String piiDecision) throws IOException {
        return Files.writeString(dir.resolve("fixtures.yaml"), """
                fixtures:
                  - name: pii export
                    requester: deploy-bot
                    request:
                      action: { type: db.export, params: { table: customers } }
                      resource: { type: table, id: customers, env: prod, tags: [pii] }
                    expect:
                      decision: %s
                      rules: [pii-export-in-prod]
                      approvals: [{ group: data-owners, count: 2 }]
                  - name: self escalation
                    requester: etl-pipeline
                    request:
                      action: { type: iam.grant, params: { principal: etl-pipeline } }
                      resource: { type: role, id: admin, env: dev }
                    expect:
                      decision: deny
                      rules: [no-self-escalation]
                      reason: an identity may not grant privileges to itself
                """.formatted(piiDecision));
    }

    private Path groupOrderFixtures() throws IOException {
        return Files.writeString(dir.resolve("group-order.yaml"), """
                fixtures:
                  - name: listed one way
                    requester: deploy-bot
                    request: { action: { type: dns.update }, resource: { type: zone, id: example.com } }
                    expect: { decision: require_approval, approvals: [{ groups: [security, data-owners], count: 1 }] }
                  - name: listed the other way
                    requester: deploy-bot
                    request: { action: { type: dns.update }, resource: { type: zone, id: example.com } }
                    expect: { decision: require_approval, approvals: [{ groups: [data-owners, security], count: 1 }] }
                """);
    }
}
