package io.countersign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.server.config.ServerConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerStartTest {
    @TempDir
    Path dir;

    @Test
    void aTakenPortFailsTheStartWithOneClearErrorAndReleasesTheStore() throws Exception {
        try (ServerFixture first = new ServerFixture(dir.resolve("a"))) {
            ServerConfig c = first.server().config();
            ServerConfig sameport = ServerConfig.local(dir.resolve("b"), c.policyFile(), c.identities())
                    .withPort(first.server().port());
            assertThatThrownBy(() -> CountersignServer.start(sameport))
                    .isInstanceOf(ServerStartException.class)
                    .hasMessageContaining(":" + first.server().port())
                    .hasMessageContaining("--port");
        }
        // The failed start closed its store: the same data directory opens again.
        var key = io.countersign.server.config.LedgerKeys.load(
                        ServerConfig.Ledger.defaults(), dir.resolve("b"), new java.security.SecureRandom())
                .key();
        try (var again = io.countersign.store.SqliteStore.open(
                dir.resolve("b").resolve("countersign.db"), io.countersign.store.LedgerSettings.of(key))) {
            assertThat(again.integrityProblem()).isEmpty();
            assertThat(again.list(new io.countersign.core.spi.RequestStore.Query(null, null, 1)))
                    .isEmpty();
        }
    }
}
