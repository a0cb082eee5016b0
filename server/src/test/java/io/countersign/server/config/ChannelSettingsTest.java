package io.countersign.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ChannelSettingsTest {
    static final String WHSEC = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    static final Map<String, String> ENV = Map.of(
            "SLACK_BOT_TOKEN", "xoxb-bot",
            "SLACK_SIGNING_SECRET", "sl-sign-8f3a",
            "TEAMS_WEBHOOK_URL", "https://example.webhook.office.com/workflows/abc?sig=s3cret",
            "SMTP_PASSWORD", "smtp-pass",
            "SIEM_WEBHOOK_SECRET", WHSEC);

    @TempDir
    Path dir;

    @Test
    void theExampleChannelsConfigLoadsWithItsSecretsFromTheEnvironment() throws IOException {
        Path examples = dir.resolve("examples");
        Files.createDirectories(examples);
        Files.copy(Path.of("..", "examples", "countersign-channels.yaml"), examples.resolve("c.yaml"));
        Files.copy(Path.of("..", "examples", "policy.yaml"), examples.resolve("policy.yaml"));
        ServerConfig c =
                ConfigLoader.load(new ConfigLoader.Overrides(examples.resolve("c.yaml"), null, null, null, null), ENV);
        Channels ch = c.channels();
        assertThat(ch.publicUrl()).isEqualTo(URI.create("https://countersign.example.com"));
        assertThat(ch.slack().botToken().value()).isEqualTo("xoxb-bot");
        assertThat(ch.slack().channel()).isEqualTo("C0APPROVALS");
        assertThat(ch.slack().apiUrl()).isEqualTo(Channels.Slack.DEFAULT_API);
        assertThat(ch.teams().webhookUrl().value()).endsWith("sig=s3cret");
        assertThat(ch.email().port()).isEqualTo(587);
        assertThat(ch.email().tls()).isEqualTo(Channels.Email.Tls.STARTTLS);
        assertThat(ch.email().password().value()).isEqualTo("smtp-pass");
        assertThat(ch.webhooks()).singleElement().satisfies(w -> {
            assertThat(w.name()).isEqualTo("siem");
            assertThat(w.wants("request.approved")).isTrue();
            assertThat(w.wants("grant.issued")).isFalse();
        });
        assertThat(ch.delivery().backoff(1)).isEqualTo(Duration.ofSeconds(2));
        assertThat(ch.delivery().backoff(3)).isEqualTo(Duration.ofSeconds(8));
        assertThat(ch.delivery().backoff(40)).isEqualTo(Duration.ofMinutes(5));
        // a secret never prints, whatever prints the config
        assertThat(ch.toString()).doesNotContain("xoxb-bot", "sl-sign-8f3a", "smtp-pass", "s3cret", WHSEC);
    }

    @Test
    void aSecretVariableThatIsNotSetStopsTheStartNamingTheKeyNotAValue() {
        assertThatThrownBy(() -> channels("slack: {bot_token: '${NOPE}', signing_secret: x, channel: C1}", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("channels.slack.bot_token: the environment variable NOPE is not set");
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "webhooks: [{name: a, url: 'ftp://x', secret: " + WHSEC
                        + "}]|channels.webhooks[0].url: must be an http or https URL",
                "webhooks: [{name: A!, url: 'https://x', secret: " + WHSEC
                        + "}]|channels.webhooks[0].name: lower-case letters, digits, - and _; got 'A!'",
                "webhooks: [{name: a, url: 'https://x', secret: plain}]|channels.webhooks[0].secret: a Standard Webhooks secret starts with whsec_",
                "webhooks: [{name: a, url: 'https://x', secret: whsec_c2hvcnQ=}]|channels.webhooks[0].secret: must decode to at least 24 bytes",
                "webhooks: [{name: a, url: 'https://x', secret: " + WHSEC + "}, {name: a, url: 'https://y', secret: "
                        + WHSEC + "}]|channels.webhooks[1].name: 'a' is given twice",
                "email: {host: smtp, tls: ssl, from: a@b}|channels.email.tls: none, starttls or tls; got 'ssl'",
                "email: {host: smtp, pickup_dir: mail, from: a@b}|channels.email.pickup_dir: give either 'host' (send by SMTP) or 'pickup_dir' (write files)",
                "email: {from: a@b}|channels.email.host: the SMTP server's host is required (or a pickup_dir)",
                "email: {host: smtp, from: nobody}|channels.email.from: the sender's address is required; got 'nobody'",
                "email: {host: smtp, from: a@b, password: p}|channels.email.password: given without a username",
                "email: {host: smtp.example.com, tls: none, from: a@b, username: u, password: p}|channels.email.tls: 'none' would send the password in clear to smtp.example.com; use starttls or tls (a login over plain SMTP is allowed only to this machine: localhost, 127.x.x.x or ::1)",
                "slack: {bot_token: t, signing_secret: s}|channels.slack.channel: give the id of the channel approval requests go to (e.g. C0123ABC)",
                "teams: {webhook_url: 'not a url'}|channels.teams.webhook_url: not a URL",
                "link_secret: short|channels.link_secret: must be at least 32 bytes long",
                "delivery: {max_attempts: 0}|channels.delivery.max_attempts: must be 1-100; got 0",
                "delivery: {first_backoff: 0s}|channels.delivery.first_backoff: must be more than 0; got '0s'",
            })
    void badChannelSettingsStopTheStartWithTheKeyAndTheValue(String yaml, String message) {
        assertThatThrownBy(() -> channels(yaml, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage(message);
    }

    @Test
    void aPickupDirectoryIsRelativeToTheConfigFile() throws IOException {
        assertThat(channels("email: {pickup_dir: mail, from: a@b}", Map.of())
                        .email()
                        .pickupDir())
                .isEqualTo(dir.resolve("mail"));
    }

    @ParameterizedTest
    @CsvSource({"127.0.0.1.example.com", "127.attacker.example", "localhost.example.com", "10.0.0.1"})
    void aHostNamedLikeThisMachineDoesNotGetThePasswordInClear(String host) {
        assertThatThrownBy(() -> channels(
                        "email: {host: '" + host + "', tls: none, from: a@b, username: u, password: p}", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("channels.email.tls: 'none' would send the password in clear to " + host + ";");
    }

    @ParameterizedTest
    @CsvSource({"localhost", "LocalHost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"})
    void aRelayOnThisMachineMayTakeAPasswordOverPlainSmtp(String host) throws IOException {
        Channels.Email email = channels(
                        "email: {host: '" + host + "', tls: none, from: a@b, username: u, password: p}", Map.of())
                .email();
        assertThat(email.host()).isEqualTo(host);
        assertThat(email.password().value()).isEqualTo("p");
    }

    @Test
    void emailPortFollowsTls() throws IOException {
        assertThat(channels("email: {host: h, tls: tls, from: a@b}", Map.of())
                        .email()
                        .port())
                .isEqualTo(465);
        assertThat(channels("email: {host: h, tls: none, from: a@b}", Map.of())
                        .email()
                        .port())
                .isEqualTo(25);
    }

    private Channels channels(String section, Map<String, String> env) throws IOException {
        Files.copy(
                Path.of("..", "examples", "policy.yaml"),
                dir.resolve("policy.yaml"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        String yaml = "policy: policy.yaml\ndata_dir: data\nchannels:\n  " + section + "\n";
        Path file = Files.writeString(dir.resolve("c.yaml"), yaml);
        return ConfigLoader.load(new ConfigLoader.Overrides(file, null, null, null, null), env)
                .channels();
    }
}
