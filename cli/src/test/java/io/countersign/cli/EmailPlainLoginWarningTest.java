package io.countersign.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.countersign.core.testing.MutableClock;
import io.countersign.server.CountersignServer;
import io.countersign.server.config.Channels;
import io.countersign.server.config.DemoIdentities;
import io.countersign.server.config.ServerConfig;
import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The server's start-up log, through the logging backend `countersign serve` ships with. */
class EmailPlainLoginWarningTest {
    private static final Channels.Secret PASSWORD = new Channels.Secret("relay-pass-5d1e");

    @TempDir
    Path dir;

    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final Logger root = (Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);

    @BeforeEach
    void capture() {
        log.start();
        root.addAppender(log);
    }

    @AfterEach
    void release() {
        root.detachAppender(log);
    }

    @Test
    void aPasswordOverPlainSmtpToThisMachineIsWarnedOnceAtStart() {
        assertThat(startupWarnings(new Channels.Email(
                        "127.0.0.1", 2525, Channels.Email.Tls.NONE, "relay", PASSWORD, "cs@example.com")))
                .containsExactly("channels.email.tls is none: the SMTP password goes in clear to 127.0.0.1");
    }

    @Test
    void plainSmtpWithoutALoginIsNotWarned() {
        assertThat(startupWarnings(
                        new Channels.Email("127.0.0.1", 2525, Channels.Email.Tls.NONE, null, null, "cs@example.com")))
                .isEmpty();
    }

    /** Countersign's warnings while a server with {@code email} starts (not while it stops). */
    private List<String> startupWarnings(Channels.Email email) {
        Channels channels = Channels.none()
                .withPublicUrl(URI.create("https://countersign.example.com"))
                .withEmail(email);
        ServerConfig config = ServerConfig.local(
                        dir.resolve("data"),
                        CliFixture.POLICY,
                        DemoIdentities.withNewKeys(new HashMap<>(), p -> ServerConfig.Links.NONE))
                .withChannels(channels);
        List<ILoggingEvent> started;
        try (CountersignServer server =
                CountersignServer.start(config, new MutableClock(Instant.parse("2025-03-03T09:00:00Z")))) {
            started = List.copyOf(log.list);
        }
        assertThat(started).extracting(ILoggingEvent::getFormattedMessage).noneMatch(m -> m.contains("relay-pass"));
        return started.stream()
                .filter(e -> e.getLevel() == Level.WARN && e.getLoggerName().startsWith("io.countersign."))
                .map(ILoggingEvent::getFormattedMessage)
                .toList();
    }
}
