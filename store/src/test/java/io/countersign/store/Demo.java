package io.countersign.store;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.Action;
import io.countersign.core.ActionRequest;
import io.countersign.core.Principal;
import io.countersign.core.PrincipalKind;
import io.countersign.core.Resource;
import io.countersign.core.policy.Policy;
import io.countersign.core.spi.Directory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/** The demo cast and the example policy, as the README's walk-through uses them. */
final class Demo {
    /** The test log's signing key (generated per run). */
    static final io.countersign.ledger.SigningKey LEDGER_KEY =
            io.countersign.ledger.SigningKey.generate("countersign.test/ledger", new java.security.SecureRandom());

    static final Principal ALICE = Principal.human("alice", Set.of("engineering", "data-owners"));
    static final Principal BOB = Principal.human("bob", Set.of("data-owners"));
    static final Principal CAROL = Principal.human("carol", Set.of("data-owners", "security"));
    static final Principal DAVE = Principal.human("dave", Set.of("security"));
    static final Principal ERIN = Principal.human("erin", Set.of("data-owners"));
    static final Principal BOT =
            new Principal("deploy-bot", PrincipalKind.AGENT, Set.of(), "alice", "claude-sonnet-4-5", "high", Map.of());
    static final Principal ETL =
            new Principal("etl-pipeline", PrincipalKind.SERVICE, Set.of(), null, null, null, Map.of());
    /** Sixteen more data owners, for races. */
    static final List<Principal> OWNERS = java.util.stream.IntStream.rangeClosed(1, 16)
            .mapToObj(i -> Principal.human("owner-" + i, Set.of("data-owners")))
            .toList();

    static final Directory DIRECTORY = Directory.of(
            java.util.stream.Stream.concat(Stream.of(ALICE, BOB, CAROL, DAVE, ERIN, BOT, ETL), OWNERS.stream())
                    .toList());

    private Demo() {}

    static Policy examplePolicy() {
        try {
            return Policy.parse(Files.readString(Path.of("..", "examples", "policy.yaml")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ActionRequest piiExport(String table) {
        ObjectNode params =
                JsonNodeFactory.instance.objectNode().put("table", table).put("format", "csv");
        return new ActionRequest(
                new Action("db.export", params),
                new Resource("table", table, "prod", List.of("pii"), "sales"),
                "quarterly churn analysis",
                null,
                null);
    }

    static ActionRequest readQuery() {
        ObjectNode params =
                JsonNodeFactory.instance.objectNode().put("sql", "select 1").put("readonly", true);
        return new ActionRequest(
                new Action("db.query", params),
                new Resource("db", "analytics", "prod", List.of(), ""),
                "health check",
                null,
                null);
    }

    static ActionRequest prodShell(String command, String onBehalfOf) {
        ObjectNode params = JsonNodeFactory.instance.objectNode().put("command", command);
        return new ActionRequest(
                new Action("shell.exec", params),
                new Resource("host", "web-1", "prod", List.of(), ""),
                "restart a stuck worker",
                onBehalfOf,
                null);
    }
}
