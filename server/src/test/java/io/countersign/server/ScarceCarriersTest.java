package io.countersign.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.mcp.McpConfig;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server on exactly two carrier threads for its virtual threads, and no spares: every module's
 * tests run with {@code jdk.virtualThreadScheduler.parallelism=2} and {@code maxPoolSize=2} (the
 * parent POM). A virtual thread blocked in a pipe read holds its carrier; the scheduler lends a
 * spare while it can, and with none to lend the server stops. So a server that keeps anything
 * blocked on a carrier between requests (a stdio upstream's readers, say) fails here at once, where
 * with spares it froze only once they had been retired, minutes later.
 */
class ScarceCarriersTest {
    @TempDir
    Path data;

    private ServerFixture fx;

    @AfterEach
    void close() {
        if (fx != null) fx.close();
    }

    @Test
    void theSchedulerHasNoSpareCarriers() {
        // Without the flags this test proves nothing: say so rather than pass.
        assertThat(System.getProperty("jdk.virtualThreadScheduler.maxPoolSize"))
                .as(
                        "the tests run with the scheduler at 2 carriers and no spares (surefire's argLine in the parent POM)")
                .isEqualTo("2");
    }

    @Test
    void stdioUpstreamSessionsHoldNoCarrierBetweenCalls() throws Exception {
        McpConfig.Upstream everything =
                new McpConfig.Upstream("everything", McpServers.everything(), null, null, null, null, null, null);
        McpConfig mcp = new McpConfig(
                Map.of("everything", everything),
                Duration.ofSeconds(5),
                Duration.ofMillis(200),
                Duration.ofSeconds(20),
                false,
                List.of());
        fx = new ServerFixture(data, null, Path.of("src/test/resources/mcp-policy.yaml"), mcp);

        // Three sessions, each with its own upstream process: more than there are carriers.
        List<String> sessions = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ServerFixture.Reply init = within(post(null, """
                    {"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",
                     "capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"""));
            assertThat(init.status()).isEqualTo(200);
            sessions.add(init.headers().firstValue("Mcp-Session-Id").orElseThrow());
        }
        Thread.sleep(500); // the upstreams idle, their readers waiting on the pipes

        assertThat(within(fx.as("deploy-bot", "/healthz").GET()).status()).isEqualTo(200);
        for (String session : sessions) {
            ServerFixture.Reply echoed = within(post(session, """
                    {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}"""));
            assertThat(echoed.status()).isEqualTo(200);
            assertThat(echoed.body()).contains("Echo: hi").doesNotContain("\"isError\":true");
        }
    }

    private HttpRequest.Builder post(String session, String body) {
        return fx.mcpPost("deploy-bot", "/mcp/everything", session, HttpRequest.BodyPublishers.ofString(body));
    }

    /** The reply within 20 s, or a failure that says the server stopped answering. */
    private ServerFixture.Reply within(HttpRequest.Builder request) throws Exception {
        try {
            return fx.sendAsync(request).get(20, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the server did not answer within 20 s: its carriers are held", e);
        }
    }
}
