package io.countersign.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.cli.CliFixture.Run;
import io.countersign.server.CountersignServer;
import io.countersign.server.config.Channels;
import io.countersign.server.config.DemoIdentities;
import io.countersign.server.config.ServerConfig;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code countersign slack interaction} against a real server on port 0 with Slack configured (its
 * Web API unreachable: posting the message only retries in the background), over real HTTP.
 */
class SlackInteractionCommandTest {
    private static final String SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
    private static final Map<String, String> SLACK_IDS =
            Map.of("alice", "U0ALICE", "bob", "U0BOB", "carol", "U0CAROL", "dave", "U0DAVE");

    @TempDir
    Path dir;

    private final Map<String, String> keys = new HashMap<>();
    private CountersignServer server;
    private Path secretFile;

    @BeforeEach
    void start() throws IOException {
        secretFile = Files.writeString(dir.resolve("slack-signing-secret"), SIGNING_SECRET + "\n");
        Channels channels = Channels.none()
                .withSlack(new Channels.Slack(
                        new Channels.Secret("xoxb-test"),
                        new Channels.Secret(SIGNING_SECRET),
                        "C0APPROVALS",
                        URI.create("http://127.0.0.1:1/api")));
        List<ServerConfig.Identity> identities =
                DemoIdentities.withNewKeys(keys, p -> new ServerConfig.Links(null, null, SLACK_IDS.get(p.id()), null));
        ServerConfig config = ServerConfig.local(dir.resolve("data"), CliFixture.POLICY, identities)
                .withChannels(channels);
        server = CountersignServer.start(config);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void approvesFromASignedClickAndTheLedgerShowsTheSlackChannel() {
        String id = prodShell();
        Run r = slack("--user", "U0DAVE", "--request", id, "--action", "approve", "--key", keys.get("dave"));
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out())
                .contains("HTTP 200")
                .contains("ledger: review.recorded  dave approve  channel slack")
                .contains("request " + id + " is approved");
        JsonNode review = only(events(id), "review.recorded");
        assertThat(review.path("actor").asText()).isEqualTo("dave");
        assertThat(review.path("channel").asText()).isEqualTo("slack");
        assertThat(state(id)).isEqualTo("approved");
    }

    @Test
    void approvesWithTheDigestGivenAndNoApiKey() {
        String id = prodShell();
        Run r = slack("--user", "U0DAVE", "--request", id, "--action", "approve", "--digest", digest(id));
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("HTTP 200").doesNotContain("ledger:");
        assertThat(stateSoon(id, "approved")).isEqualTo("approved");
    }

    @Test
    void forgedInteractionIsRefusedAndRecordsNothing() {
        String id = prodShell();
        Run r = slack("--user", "U0DAVE", "--request", id, "--action", "approve", "--digest", digest(id), "--forge");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(3);
        assertThat(r.out()).contains("HTTP 401");
        assertThat(r.err()).contains("urn:countersign:problem:slack-signature-invalid");
        assertNothingRecorded(id);
    }

    @Test
    void staleInteractionIsRefusedAndRecordsNothing() {
        String id = prodShell();
        Run r = slack("--user", "U0DAVE", "--request", id, "--action", "approve", "--digest", digest(id), "--stale");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(3);
        assertThat(r.out()).contains("HTTP 401");
        assertThat(r.err())
                .contains("urn:countersign:problem:slack-signature-stale")
                .containsPattern("36\\d s old"); // six minutes back, and a second may pass on the way
        assertNothingRecorded(id);
    }

    @Test
    void deniesWithTheReasonFromTheSubmittedForm() {
        String id = prodShell();
        Run r = slack(
                "--user",
                "U0DAVE",
                "--request",
                id,
                "--action",
                "deny",
                "--reason",
                "not during the freeze",
                "--key",
                keys.get("dave"));
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out())
                .contains("view_submission")
                .contains("ledger: review.recorded  dave deny \"not during the freeze\"  channel slack")
                .contains("is denied");
        JsonNode review = only(events(id), "review.recorded");
        assertThat(review.path("verdict").asText()).isEqualTo("deny");
        assertThat(review.path("reason").asText()).isEqualTo("not during the freeze");
        assertThat(review.path("channel").asText()).isEqualTo("slack");
    }

    @Test
    void theAgentsOwnerIsRefusedAndTheRefusalIsRecorded() {
        String id = prodShell();
        Run r = slack("--user", "U0ALICE", "--request", id, "--action", "approve", "--key", keys.get("dave"));
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("ledger: review.refused  alice approve refused (owner-review)");
        assertThat(only(events(id), "review.refused").path("channel").asText()).isEqualTo("slack");
        assertThat(state(id)).isEqualTo("pending");
    }

    @Test
    void aReplayedInteractionIsAcknowledgedAndIgnored() {
        String id = pii();
        String[] approve = {
            "--user",
            "U0BOB",
            "--request",
            id,
            "--action",
            "approve",
            "--reason",
            "ok",
            "--trigger-id",
            "1.2.replay",
            "--key",
            keys.get("bob")
        };
        assertThat(slack(approve).out()).contains("ledger: review.recorded  bob approve \"ok\"");
        Run again = slack(approve);
        assertThat(again.exitCode()).as(again.toString()).isZero();
        assertThat(again.out()).contains("HTTP 200").contains("nothing recorded");
        assertThat(events(id).stream().filter(e -> e.path("type").asText().equals("review.recorded")))
                .hasSize(1);
    }

    @Test
    void denyWithoutAReasonIsAUsageError() {
        Run r = slack("--user", "U0DAVE", "--request", prodShell(), "--action", "deny", "--digest", "00");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--reason");
    }

    @Test
    void anUnsetSecretVariableIsNamed() {
        Run r = CliFixture.run(
                "slack",
                "interaction",
                "--url",
                url(),
                "--signing-secret-env",
                "COUNTERSIGN_TEST_SURELY_UNSET",
                "--user",
                "U0DAVE",
                "--request",
                prodShell(),
                "--action",
                "approve",
                "--digest",
                "00");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("COUNTERSIGN_TEST_SURELY_UNSET is not set");
    }

    @Test
    void helpWarnsAgainstASecretOnTheCommandLine() {
        Run r = CliFixture.run("slack", "interaction", "--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("--signing-secret-env").contains("WARNING").contains("shell history");
    }

    // ---- helpers -----------------------------------------------------------------------------

    private Run slack(String... args) {
        String[] head = {"slack", "interaction", "--url", url(), "--signing-secret-file", secretFile.toString()};
        return CliFixture.run(Stream.concat(Stream.of(head), Stream.of(args)).toArray(String[]::new));
    }

    private Run as(String who, String... args) {
        String[] connection = {"--server", url(), "--key", keys.get(who)};
        return CliFixture.run(
                Stream.concat(Stream.of(args), Stream.of(connection)).toArray(String[]::new));
    }

    private String url() {
        return "http://127.0.0.1:" + server.port();
    }

    /** A prod shell command: 1 of security (dave, carol), no reason required. */
    private String prodShell() {
        return submit("--type", "shell.exec", "--param", "command=uptime", "--resource", "host:web-1", "--env", "prod");
    }

    /** A PII export: 2 of data-owners, each with a reason. */
    private String pii() {
        return submit(
                "--type",
                "db.export",
                "--param",
                "table=customers",
                "--resource",
                "table:customers",
                "--env",
                "prod",
                "--tag",
                "pii");
    }

    private String submit(String... flags) {
        List<String> args = new ArrayList<>(List.of("request"));
        args.addAll(List.of(flags));
        args.addAll(List.of("--justification", "x", "--json"));
        Run r = as("deploy-bot", args.toArray(String[]::new));
        assertThat(r.json().path("state").asText()).as(r.toString()).isEqualTo("pending");
        return r.json().path("id").asText();
    }

    private String digest(String id) {
        return as("carol", "get", id, "--json").json().path("digest").asText();
    }

    private String state(String id) {
        return as("carol", "get", id, "--json").json().path("state").asText();
    }

    /** A click is handled after the answer: the state once it is {@code expected}, or after 5 s. */
    private String stateSoon(String id, String expected) {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        String now = state(id);
        while (!now.equals(expected) && System.nanoTime() < deadline) now = state(id);
        return now;
    }

    private List<JsonNode> events(String id) {
        Run r = as("carol", "events", id, "--json");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        List<JsonNode> out = new ArrayList<>();
        r.json().path("events").forEach(out::add);
        return out;
    }

    private static JsonNode only(List<JsonNode> events, String type) {
        List<JsonNode> found = events.stream()
                .filter(e -> e.path("type").asText().equals(type))
                .toList();
        assertThat(found).as(events.toString()).hasSize(1);
        return found.getFirst();
    }

    private void assertNothingRecorded(String id) {
        assertThat(events(id)).noneMatch(e -> e.path("type").asText().startsWith("review."));
        assertThat(state(id)).isEqualTo("pending");
    }
}
