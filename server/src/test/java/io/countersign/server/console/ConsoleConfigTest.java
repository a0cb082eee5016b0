package io.countersign.server.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.server.config.ConfigException;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.ServerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code oidc.console}: read once at start, refused with the key that is wrong. */
class ConsoleConfigTest {
    private static final String OIDC = """
            identities:
              - { id: alice, kind: human }
            oidc:
              issuers:
                - issuer: https://idp.example.com/
                  audience: countersign
                - issuer: https://other.example.com/
                  audience: countersign
                  id_prefix: "other:"
              console:
            """;

    @TempDir
    Path dir;

    @BeforeEach
    void copyPolicy() throws IOException {
        Files.copy(Path.of("..", "examples", "policy.yaml"), dir.resolve("policy.yaml"));
    }

    @Test
    void aPublicClientWithTheDefaultSessionLength() throws IOException {
        ServerConfig.Console c = load("""
                    issuer: https://idp.example.com/
                    client_id: countersign-console
                """).oidc().console();
        assertThat(c.issuer()).isEqualTo("https://idp.example.com/");
        assertThat(c.clientId()).isEqualTo("countersign-console");
        assertThat(c.clientSecret()).isNull();
        assertThat(c.sessionTtl()).isEqualTo(Duration.ofHours(8));
    }

    @Test
    void theClientSecretMayComeFromTheEnvironmentAndNeverPrints() throws IOException {
        ServerConfig.Console c = load("""
                    issuer: https://other.example.com/
                    client_id: countersign-console
                    client_secret: ${PATH}
                    session_ttl: 30m
                """).oidc().console();
        assertThat(c.clientSecret().value()).isEqualTo(System.getenv("PATH"));
        assertThat(c.toString()).doesNotContain(System.getenv("PATH")).contains("[secret]");
        assertThat(c.sessionTtl()).isEqualTo(Duration.ofMinutes(30));
    }

    @Test
    void withoutAConsoleSectionPeopleSignInWithKeys() throws IOException {
        Path file = dir.resolve("countersign.yaml");
        Files.writeString(file, "policy: policy.yaml\n" + OIDC.replace("  console:\n", ""));
        assertThat(ConfigLoader.load(new ConfigLoader.Overrides(file, dir.resolve("data"), null, null, null))
                        .oidc()
                        .console())
                .isNull();
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "'    client_id: x'" + " | oidc.console.issuer: required",
                "'    issuer: https://idp.example.org/\n    client_id: x'"
                        + " | oidc.console.issuer: 'https://idp.example.org/' is not one of oidc.issuers",
                "'    issuer: https://idp.example.com/'" + " | oidc.console.client_id: required",
                "'    issuer: https://idp.example.com/\n    client_id: x\n    session_ttl: 0s'"
                        + " | oidc.console.session_ttl: must be more than 0",
                "'    issuer: https://idp.example.com/\n    client_id: x\n    session_ttl: 31d'"
                        + " | oidc.console.session_ttl: at most 30d",
                "'    issuer: https://idp.example.com/\n    client_id: x\n    session_ttl: soon'"
                        + " | oidc.console.session_ttl:",
                "'    issuer: https://idp.example.com/\n    client_id: x\n    client_secret: ${COUNTERSIGN_UNSET_VAR_4711}'"
                        + " | oidc.console.client_secret: the environment variable COUNTERSIGN_UNSET_VAR_4711 is not set",
            })
    void aBadConsoleSettingStopsTheStartNamingItsKey(String section, String message) {
        assertThatThrownBy(() -> load(section + "\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(message);
    }

    @Test
    void anUnknownConsoleKeyIsNamed() {
        assertThatThrownBy(() -> load("""
                    issuer: https://idp.example.com/
                    client_id: x
                    redirect_uri: https://elsewhere.example/
                """))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("unknown key 'oidc.console.redirect_uri'");
    }

    private ServerConfig load(String console) throws IOException {
        Path file = dir.resolve("countersign.yaml");
        Files.writeString(file, "policy: policy.yaml\n" + OIDC + console);
        return ConfigLoader.load(new ConfigLoader.Overrides(file, dir.resolve("data"), null, null, null));
    }
}
