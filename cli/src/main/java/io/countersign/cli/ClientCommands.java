package io.countersign.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.Json;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The client commands that act on one request or list them. */
final class ClientCommands {
    private ClientCommands() {}

    /** A command that acts on one request: its id, the client options, and the POST that does it. */
    abstract static class OnRequest implements Callable<Integer> {
        @Mixin
        ClientOptions opts;

        @Parameters(paramLabel = "ID", description = "The request id, req_...")
        String id;

        /** POSTs {@code body} (or nothing) to {@code /v1/requests/ID/<action>} and prints the request. */
        Integer act(String action, JsonNode body) {
            opts.print(opts.client().post("/v1/requests/" + id + "/" + action, body, Map.of()), Text::request);
            return 0;
        }
    }

    static Duration waitTimeout(String wait) {
        return io.countersign.core.Durations.parse(wait).plusSeconds(15);
    }

    @Command(
            name = "requests",
            mixinStandardHelpOptions = true,
            description =
                    "List requests: for a human with --state pending, those you may still review; for an agent, its own.")
    static final class Requests implements Callable<Integer> {
        @Mixin
        ClientOptions opts;

        @Option(
                names = "--state",
                paramLabel = "STATE",
                description = "pending, approved, denied, expired, cancelled, revoked, executed, failed")
        String state;

        @Option(
                names = "--limit",
                paramLabel = "N",
                defaultValue = "100",
                description = "At most this many (default ${DEFAULT-VALUE})")
        int limit;

        @Override
        public Integer call() {
            String q = "?limit=" + limit + (state == null ? "" : "&state=" + state);
            opts.print(opts.client().get("/v1/requests" + q, Duration.ofSeconds(30)), Text::list);
            return 0;
        }
    }

    @Command(
            name = "get",
            mixinStandardHelpOptions = true,
            description = "Show one request; --wait holds until its state changes.")
    static final class Get implements Callable<Integer> {
        @Mixin
        ClientOptions opts;

        @Parameters(paramLabel = "ID", description = "The request id, req_...")
        String id;

        @Option(
                names = "--wait",
                paramLabel = "DURATION",
                description = "Wait up to this long for a state change, e.g. 30s")
        String wait;

        @Override
        public Integer call() {
            String q = wait == null ? "" : "?wait=" + wait;
            Duration t = wait == null ? Duration.ofSeconds(30) : waitTimeout(wait);
            opts.print(opts.client().get("/v1/requests/" + id + q, t), Text::request);
            return 0;
        }
    }

    @Command(
            name = "review",
            mixinStandardHelpOptions = true,
            description = "Approve or deny a pending request (human key).")
    static final class Review extends OnRequest {

        @ArgGroup(exclusive = true, multiplicity = "1")
        Verdict verdict;

        static final class Verdict {
            @Option(names = "--approve", required = true, description = "Approve the request")
            boolean approve;

            @Option(names = "--deny", required = true, description = "Deny the request (needs --reason)")
            boolean deny;
        }

        @Option(
                names = "--reason",
                paramLabel = "TEXT",
                description = "Why (required to deny, and when policy requires it)")
        String reason;

        @Option(
                names = "--digest",
                paramLabel = "HEX",
                description = "The digest you reviewed; refused if the request's differs")
        String digest;

        @Override
        public Integer call() {
            ObjectNode body = Json.mapper().createObjectNode().put("verdict", verdict.approve ? "approve" : "deny");
            if (reason != null) body.put("reason", reason);
            if (digest != null) body.put("digest", digest);
            return act("reviews", body);
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true, description = "Withdraw your request (requester).")
    static final class Cancel extends OnRequest {

        @Override
        public Integer call() {
            return act("cancel", null);
        }
    }

    @Command(
            name = "revoke",
            mixinStandardHelpOptions = true,
            description = "Revoke an approved request's unused grant (an eligible approver).")
    static final class Revoke extends OnRequest {

        @Option(names = "--reason", paramLabel = "TEXT", description = "Why (recorded in the ledger)")
        String reason;

        @Override
        public Integer call() {
            JsonNode body =
                    reason == null ? null : Json.mapper().createObjectNode().put("reason", reason);
            return act("revoke", body);
        }
    }

    @Command(name = "redeem", mixinStandardHelpOptions = true, description = "Consume the grant once (requester).")
    static final class Redeem extends OnRequest {

        @Option(
                names = "--digest",
                paramLabel = "HEX",
                required = true,
                description = "The digest of the action you are about to run")
        String digest;

        @Override
        public Integer call() {
            ObjectNode body = Json.mapper().createObjectNode().put("digest", digest);
            return act("redeem", body);
        }
    }

    @Command(
            name = "outcome",
            mixinStandardHelpOptions = true,
            description = "Report what came of a redeemed request (requester).")
    static final class ReportOutcome extends OnRequest {

        @Option(names = "--status", required = true, paramLabel = "STATUS", description = "executed or failed")
        String status;

        @Option(
                names = "--result-sha256",
                paramLabel = "HEX",
                description = "The SHA-256 of the action's result, 64 lower-case hex digits (recorded in the ledger)")
        String resultSha256;

        @Option(names = "--detail", paramLabel = "TEXT", description = "What came of it, e.g. '41,203 rows exported'")
        String detail;

        @Override
        public Integer call() {
            ObjectNode body = Json.mapper().createObjectNode().put("status", status);
            if (resultSha256 != null) body.put("result_sha256", resultSha256);
            if (detail != null) body.put("detail", detail);
            return act("outcome", body);
        }
    }

    @Command(
            name = "events",
            mixinStandardHelpOptions = true,
            description = "Every ledger event recorded for a request.")
    static final class Events implements Callable<Integer> {
        @Mixin
        ClientOptions opts;

        @Parameters(paramLabel = "ID", description = "The request id, req_...")
        String id;

        @Override
        public Integer call() {
            opts.print(opts.client().get("/v1/requests/" + id + "/events", Duration.ofSeconds(30)), Text::events);
            return 0;
        }
    }
}
