package io.countersign.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import org.junit.jupiter.api.Test;

/** The shipped logback.xml, loaded as `countersign serve` loads it, with the level set to debug. */
class LoggingConfigTest {

    @Test
    void debugLevelReachesCountersignsOwnLoggers() throws JoranException {
        LoggerContext logs = configuredAt("debug");
        assertThat(logs.getLogger("io.countersign.store.SqliteStore").getEffectiveLevel())
                .isEqualTo(Level.DEBUG);
        assertThat(logs.getLogger("io.countersign.mcp.HttpUpstream").getEffectiveLevel())
                .isEqualTo(Level.DEBUG);
    }

    @Test
    void debugLevelLeavesTheJdksAndLibrariesDebugOutputOut() throws JoranException {
        LoggerContext logs = configuredAt("debug");
        // Trust-store certificates and TLS handshakes; sqlite-jdbc's `uname` with a stack trace;
        // Runtime.exit with a stack trace; Micrometer's choice of logging framework.
        for (String name : new String[] {
            "jdk.event.security", "java.lang.ProcessBuilder", "java.lang.Runtime", "io.micrometer.common.util"
        }) {
            assertThat(logs.getLogger(name).getEffectiveLevel()).as(name).isEqualTo(Level.INFO);
        }
    }

    @Test
    void defaultLevelIsInfo() throws JoranException {
        LoggerContext logs = configuredAt(null);
        assertThat(logs.getLogger("io.countersign.store.SqliteStore").getEffectiveLevel())
                .isEqualTo(Level.INFO);
    }

    private static LoggerContext configuredAt(String level) throws JoranException {
        LoggerContext logs = new LoggerContext();
        if (level != null) logs.putProperty("COUNTERSIGN_LOG_LEVEL", level);
        JoranConfigurator config = new JoranConfigurator();
        config.setContext(logs);
        config.doConfigure(LoggingConfigTest.class.getResource("/logback.xml"));
        return logs;
    }
}
