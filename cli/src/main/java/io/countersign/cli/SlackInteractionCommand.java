package io.countersign.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.Json;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code countersign slack interaction}: plays Slack's part against a server's interactivity
 * endpoint, so Slack approvals can be tried without a Slack workspace.
 *
 * <p>Design notes. The payload is the one Slack sends when someone clicks a button on the approval
 * message ({@code block_actions}) or submits the reason form ({@code view_submission}), with the
 * fields the server reads: {@code user.id}, {@code actions[0].action_id} and {@code value} ({@code
 * "<request id> <digest>"}), {@code trigger_id}, {@code response_url}, and for the form its {@code
 * callback_id}, {@code private_metadata} and the reason in {@code state.values}. The ids mirror
 * {@code io.countersign.server.channels.SlackMessage}; the test drives the real endpoint, so a drift
 * fails it. The body is signed as Slack signs it (v0, HMAC-SHA256 over {@code v0:ts:body}). Where
 * Slack would open the reason form ({@code views.open}, which needs Slack itself), {@code --reason}
 * submits the form directly. The signing secret is read from the environment or a file by default,
 * never from the command line unless asked for.
 */
@Command(
        name = "interaction",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Send the server a signed Slack interaction, as Slack would when someone clicks Approve or Deny on the"
                    + " approval message, or submits the reason form.",
            "Without --reason: an Approve click (block_actions); the review is recorded in the background. With"
                    + " --reason: the reason form submitted (view_submission), as Slack sends it after opening the"
                    + " form for a Deny or for an Approve whose rule has reason_required; the answer shows a refusal.",
            "Prints the HTTP status and body; exits 0 on 2xx. With an API key (--key or COUNTERSIGN_KEY) it reads the"
                    + " request's digest and then prints what the ledger recorded for the interaction."
        },
        footer = {
            "",
            "Examples (SLACK_SIGNING_SECRET: the server's channels.slack.signing_secret):",
            "  countersign slack interaction --user U0DAVE --request ID --action approve",
            "  countersign slack interaction --user U0DAVE --request ID --action deny \\",
            "      --reason 'not during the freeze'",
            "  ... --forge    signed with a wrong key: 401 slack-signature-invalid",
            "  ... --stale    signed 6 minutes ago: 401 slack-signature-stale"
        })
final class SlackInteractionCommand implements Callable<Integer> {
    static final String PATH = "/v1/channels/slack/interactions";
    static final String DEFAULT_SECRET_ENV = "SLACK_SIGNING_SECRET";
    // The ids of the approval message's buttons block and of the reason form: as SlackMessage sets them.
    static final String ACTIONS_BLOCK = "countersign_review";
    static final String REASON_FORM = "countersign_reason";
    static final String REASON = "reason";
    /** One minute past the five the server allows. */
    static final Duration STALE = Duration.ofMinutes(6);
    /** How long to wait for what a click recorded, which the server does after answering. */
    static final Duration FOLLOW = Duration.ofSeconds(5);

    private static final String TEAM = "T0COUNTERSIGN";
    private static final String CHANNEL = "C0COUNTERSIGN";

    /** The actions a Slack user can take on the approval message. */
    enum Action {
        APPROVE,
        DENY;

        String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    @Option(
            names = {"--server", "--url"},
            paramLabel = "URL",
            defaultValue = "${env:COUNTERSIGN_URL:-http://127.0.0.1:8080}",
            description = "Server URL (env COUNTERSIGN_URL; default ${DEFAULT-VALUE})")
    String server;

    @Option(
            names = "--signing-secret-env",
            paramLabel = "VAR",
            description =
                    "Read the Slack signing secret from this environment variable (default " + DEFAULT_SECRET_ENV + ")")
    String secretEnv;

    @Option(
            names = "--signing-secret-file",
            paramLabel = "FILE",
            description = "Read the Slack signing secret from this file")
    Path secretFile;

    @Option(
            names = "--signing-secret",
            paramLabel = "SECRET",
            description = "The Slack signing secret itself. WARNING: it is left in your shell history and visible to"
                    + " other users in the process list; prefer --signing-secret-env or --signing-secret-file")
    String secretValue;

    @Option(names = "--user", required = true, paramLabel = "SLACK_ID", description = "The Slack user id, e.g. U0BOB")
    String user;

    @Option(names = "--request", required = true, paramLabel = "ID", description = "The request id, req_...")
    String request;

    @Option(names = "--action", required = true, paramLabel = "ACTION", description = "approve or deny")
    Action action;

    @Option(
            names = "--reason",
            paramLabel = "TEXT",
            description = "Submit the reason form with this reason (needed to deny, and to approve when policy asks)")
    String reason;

    @Option(
            names = "--digest",
            paramLabel = "HEX",
            description = "The digest the message showed (default: read with the API key)")
    String digest;

    @Option(
            names = "--key",
            paramLabel = "KEY",
            defaultValue = "${env:COUNTERSIGN_KEY}",
            description = "An API key that can read the request, to get its digest and show what was recorded"
                    + " (env COUNTERSIGN_KEY)")
    String key;

    @Option(
            names = "--stale",
            description = "Date the request 6 minutes ago; the server allows 5 and refuses it (slack-signature-stale)")
    boolean stale;

    @Option(
            names = "--forge",
            description = "Sign with a wrong key, as a forger would; refused (slack-signature-invalid)")
    boolean forge;

    @Option(
            names = "--trigger-id",
            paramLabel = "ID",
            description = "The interaction's trigger_id (default: a new one); send one twice to see a replay ignored")
    String triggerId;

    @Option(
            names = "--response-url",
            paramLabel = "URL",
            defaultValue = "http://127.0.0.1:9/countersign-cli/no-response",
            description = "Where the server may tell the clicker why (it only uses Slack's hosts or its api_url's);"
                    + " default ${DEFAULT-VALUE}, which it ignores")
    String responseUrl;

    private final Clock clock = Clock.systemUTC();
    private final SecureRandom random = new SecureRandom();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Override
    public Integer call() throws InterruptedException {
        if (action == Action.DENY && reason == null)
            throw new IllegalArgumentException("Slack asks for a reason before it sends a deny (its form's reason is"
                    + " required): give --reason TEXT");
        byte[] secret = secret();
        ApiClient api = key == null || key.isBlank() ? null : new ApiClient(server, key);
        String shown = digest != null ? digest : readDigest(api);
        int before = api == null ? 0 : slackReviews(api).size();
        ObjectNode payload = reason == null ? click(shown) : submission(shown);
        HttpResponse<byte[]> res = post(form(payload), secret);
        System.out.println("HTTP " + res.statusCode() + describe(payload));
        String body = new String(res.body(), StandardCharsets.UTF_8).strip();
        if (!body.isEmpty()) System.out.println(body);
        if (res.statusCode() / 100 != 2) throw problem(res.statusCode(), body);
        if (api != null) follow(api, before);
        return 0;
    }

    // ---- the payload -------------------------------------------------------------------------

    /** A click on the approval message's Approve button. */
    private ObjectNode click(String shown) {
        ObjectNode p = common("block_actions");
        p.putObject("container")
                .put("type", "message")
                .put("message_ts", messageTs())
                .put("channel_id", CHANNEL)
                .put("is_ephemeral", false);
        p.putObject("channel").put("id", CHANNEL).put("name", "approvals");
        p.putObject("message").put("type", "message").put("ts", messageTs());
        p.put("response_url", responseUrl);
        ObjectNode a = p.putArray("actions").addObject();
        a.put("type", "button")
                .put("block_id", ACTIONS_BLOCK)
                .put("action_id", action.wire())
                .put("value", request + " " + shown)
                .put("style", action == Action.APPROVE ? "primary" : "danger")
                .put("action_ts", messageTs());
        a.putObject("text").put("type", "plain_text").put("text", action == Action.APPROVE ? "Approve" : "Deny");
        return p;
    }

    /** The reason form, submitted; what it was opened for rides in private_metadata. */
    private ObjectNode submission(String shown) {
        ObjectNode p = common("view_submission");
        ObjectNode meta = Json.mapper()
                .createObjectNode()
                .put("request", request)
                .put("digest", shown)
                .put("verdict", action.wire());
        ObjectNode view = p.putObject("view")
                .put("id", "V0" + hex(5).toUpperCase(java.util.Locale.ROOT))
                .put("type", "modal")
                .put("team_id", TEAM)
                .put("callback_id", REASON_FORM)
                .put("private_metadata", meta.toString());
        view.putObject("state")
                .putObject("values")
                .putObject(REASON)
                .putObject(REASON)
                .put("type", "plain_text_input")
                .put("value", reason);
        p.putArray("response_urls");
        return p;
    }

    private ObjectNode common(String type) {
        ObjectNode p = Json.mapper().createObjectNode().put("type", type);
        p.putObject("team").put("id", TEAM).put("domain", "countersign-cli");
        p.putObject("user")
                .put("id", user)
                .put("username", user.toLowerCase(java.util.Locale.ROOT))
                .put("team_id", TEAM);
        p.put("api_app_id", "A0COUNTERSIGN");
        p.put("trigger_id", triggerId != null ? triggerId : newTriggerId());
        return p;
    }

    private String newTriggerId() {
        return clock.instant().getEpochSecond() + "." + Math.abs(random.nextInt()) + "." + hex(16);
    }

    private String messageTs() {
        long micros = clock.instant().toEpochMilli() * 1000;
        return micros / 1_000_000 + "." + String.format("%06d", micros % 1_000_000);
    }

    private String describe(ObjectNode p) {
        String what =
                reason == null ? "a click on " + (action == Action.APPROVE ? "Approve" : "Deny") : "the reason form";
        return "  (" + p.path("type").asText() + ": " + what + " by " + user + " on " + request + ")";
    }

    static String form(ObjectNode payload) {
        return "payload=" + URLEncoder.encode(payload.toString(), StandardCharsets.UTF_8);
    }

    // ---- signing and sending -----------------------------------------------------------------

    private HttpResponse<byte[]> post(String body, byte[] secret) throws InterruptedException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        long now = clock.instant().getEpochSecond();
        String ts = Long.toString(stale ? now - STALE.toSeconds() : now);
        byte[] key = forge ? randomKey() : secret;
        URI url = URI.create(base() + PATH);
        HttpRequest req = HttpRequest.newBuilder(url)
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("X-Slack-Request-Timestamp", ts)
                .header("X-Slack-Signature", sign(key, ts, bytes))
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
                .build();
        try {
            return http.send(req, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new IllegalStateException("cannot reach Countersign at " + url + ": " + e, e);
        }
    }

    /** Slack's v0 signature: {@code v0=} hex HMAC-SHA256 over {@code v0:<ts>:<body>}. */
    static String sign(byte[] secret, String timestamp, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(("v0:" + timestamp + ":").getBytes(StandardCharsets.UTF_8));
            return "v0=" + HexFormat.of().formatHex(mac.doFinal(body));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable", e);
        }
    }

    private byte[] randomKey() {
        byte[] k = new byte[32];
        random.nextBytes(k);
        return k;
    }

    private String hex(int bytes) {
        byte[] b = new byte[bytes];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private String base() {
        return server.endsWith("/") ? server.substring(0, server.length() - 1) : server;
    }

    private ApiClient.ProblemException problem(int status, String body) {
        JsonNode p;
        try {
            p = Json.mapper().readTree(body);
        } catch (IOException e) {
            p = null;
        }
        if (p == null || !p.isObject()) p = Json.mapper().createObjectNode().put("detail", body);
        if (status == 404)
            p = ((ObjectNode) p.deepCopy())
                    .put(
                            "detail",
                            "no Slack interactivity endpoint at " + base() + PATH
                                    + ": is channels.slack configured on that server? (docs/slack.md)");
        return new ApiClient.ProblemException(status, p);
    }

    // ---- the secret --------------------------------------------------------------------------

    private byte[] secret() {
        long given = Stream.of(secretEnv, secretFile, secretValue)
                .filter(java.util.Objects::nonNull)
                .count();
        if (given > 1)
            throw new IllegalArgumentException(
                    "give one of --signing-secret-env, --signing-secret-file and --signing-secret");
        String s;
        if (secretValue != null) s = secretValue;
        else if (secretFile != null) s = readFile(secretFile);
        else s = readEnv(secretEnv == null ? DEFAULT_SECRET_ENV : secretEnv);
        if (s.isBlank()) throw new IllegalArgumentException("the Slack signing secret is empty");
        return s.strip().getBytes(StandardCharsets.UTF_8);
    }

    private static String readEnv(String variable) {
        String s = System.getenv(variable);
        if (s == null)
            throw new IllegalArgumentException(variable + " is not set: export the server's channels.slack"
                    + ".signing_secret there, or give --signing-secret-file FILE");
        return s;
    }

    private static String readFile(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the signing secret from " + file + ": " + e.getMessage());
        }
    }

    // ---- the digest, and what was recorded ---------------------------------------------------

    private String readDigest(ApiClient api) {
        if (api == null)
            throw new IllegalArgumentException("the buttons carry the request's digest: give --digest HEX (countersign"
                    + " get ID shows it), or an API key that can read the request (--key or COUNTERSIGN_KEY)");
        return api.get("/v1/requests/" + request, Duration.ofSeconds(30))
                .path("digest")
                .asText();
    }

    /** The request's reviews and refused reviews through Slack, as the ledger has them. */
    private List<JsonNode> slackReviews(ApiClient api) {
        JsonNode events = api.get("/v1/requests/" + request + "/events", Duration.ofSeconds(30))
                .path("events");
        return Stream.iterate(0, i -> i < events.size(), i -> i + 1)
                .map(events::get)
                .filter(e -> e.path("type").asText().startsWith("review.")
                        && e.path("channel").asText().equals("slack"))
                .toList();
    }

    /**
     * Prints what the interaction recorded. A form's submission is recorded before the answer; a
     * click after it, so for a click this waits a little.
     */
    private void follow(ApiClient api, int before) throws InterruptedException {
        long deadline = System.nanoTime() + (reason == null ? FOLLOW.toNanos() : 0);
        List<JsonNode> now = slackReviews(api);
        while (now.size() <= before && System.nanoTime() < deadline) {
            Thread.sleep(100);
            now = slackReviews(api);
        }
        if (now.size() <= before) {
            System.out.println("ledger: nothing recorded. The Slack user may be linked to no identity"
                    + " (identities[].links.slack), the interaction a replay, or the rule may ask for a reason"
                    + " (Slack would open its form: give --reason). The server's log says which.");
            return;
        }
        now.subList(before, now.size()).forEach(e -> System.out.println("ledger: " + line(e)));
        JsonNode r = api.get("/v1/requests/" + request, Duration.ofSeconds(30));
        System.out.println("request " + request + " is " + r.path("state").asText());
    }

    private static String line(JsonNode e) {
        String type = e.path("type").asText();
        String head =
                type + "  " + e.path("actor").asText() + " " + e.path("verdict").asText();
        return head + why(e) + "  channel " + e.path("channel").asText();
    }

    private static String why(JsonNode e) {
        if (e.path("type").asText().equals("review.refused"))
            return " refused (" + e.path("refusal").asText() + "): "
                    + e.path("message").asText();
        String reason = e.path("reason").asText();
        return reason.isEmpty() ? "" : " \"" + reason + "\"";
    }
}
