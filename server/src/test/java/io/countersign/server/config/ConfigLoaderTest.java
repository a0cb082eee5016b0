package io.countersign.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.core.PrincipalKind;
import io.countersign.server.ApiKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {
    private static final String BOB_HASH = ApiKeys.sha256Hex("cs_bob");
    private static final String BOT_HASH = ApiKeys.sha256Hex("cs_bot");
    private static final String DEMO = "data_dir: state\npolicy: policy.yaml\n";

    @TempDir
    Path dir;

    @BeforeEach
    void copyPolicy() throws IOException {
        Files.copy(Path.of("..", "examples", "policy.yaml"), dir.resolve("policy.yaml"));
    }

    @Test
    void loadsIdentitiesPortAndPathsRelativeToTheConfigFile() throws IOException {
        ServerConfig c = load(valid());
        assertThat(c.port()).isEqualTo(9191);
        assertThat(c.dataDir()).isEqualTo(dir.resolve("state"));
        assertThat(c.policyFile()).isEqualTo(dir.resolve("policy.yaml"));
        assertThat(c.sweepInterval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.demo()).isFalse();
        Map<String, ServerConfig.Identity> byId = c.identities().stream()
                .collect(Collectors.toMap(i -> i.principal().id(), Function.identity()));
        assertThat(byId.keySet()).containsExactlyInAnyOrder("bob", "bot");
        assertThat(byId.get("bot").principal().owner()).isEqualTo("bob");
        assertThat(byId.get("bot").principal().kind()).isEqualTo(PrincipalKind.AGENT);
        assertThat(byId.get("bob").apiKeySha256()).isEqualTo(BOB_HASH);
        assertThat(byId.get("bob").principal().groups()).containsExactly("data-owners");
    }

    @Test
    void commandLineFlagsOverrideTheFile() throws IOException {
        ServerConfig c = ConfigLoader.load(
                new ConfigLoader.Overrides(write(valid()), dir.resolve("elsewhere"), 0, "0.0.0.0", null));
        assertThat(c.port()).isZero();
        assertThat(c.host()).isEqualTo("0.0.0.0");
        assertThat(c.dataDir()).isEqualTo(dir.resolve("elsewhere"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            unknown key           | 'server:'                       | 'servr:'               | servr
            unknown nested key    | 'port: 9191'                    | 'prot: 9191'           | server.prot
            bad kind              | 'kind: human'                   | 'kind: robot'          | kind,robot
            agent without owner   | '    owner: bob'                | '    owner: null'      | bot,owner
            owner not a human     | '    owner: bob'                | '    owner: zed'       | owner,zed
            owner is no human     | '    owner: bob'                | '    owner: bot'       | owner,bot
            duplicate id          | 'id: bot'                       | 'id: bob'              | bob,declared twice
            bad api_key_sha256    | 'api_key_sha256: BOB'           | 'api_key_sha256: xyz'  | api_key_sha256,xyz
            port out of range     | 'port: 9191'                    | 'port: 70000'          | server.port,70000
            port not a number     | 'port: 9191'                    | 'port: eighty'         | server.port,'eighty'
            host not an address   | 'host: 127.0.0.1'               | 'host: 999.1.1.1'      | server.host,'999.1.1.1'
            host not a name       | 'host: 127.0.0.1'               | 'host: my_host'        | server.host,'my_host'
            missing policy file   | 'policy: policy.yaml'           | 'policy: nope.yaml'    | policy,nope.yaml
            bad duration          | 'sweep_interval: 2s'            | 'sweep_interval: soon' | sweep_interval,soon
            bad max_wait          | 'max_wait: 5m'                  | 'max_wait: 5 minutes'  | max_wait,5 minutes
            """)
    void badValueIsRefusedNamingKeyAndValue(String name, String from, String to, String mentions) throws IOException {
        String yaml = valid().replace(from.replace("BOB", BOB_HASH), to);
        assertThat(yaml).as("the case must change the config").isNotEqualTo(valid());
        assertThatThrownBy(() -> load(yaml))
                .isInstanceOf(ConfigException.class)
                .message()
                .contains(mentions.split(","));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            not a URL, a token in its query | 'http://files host/mcp?token=s3cret-token' | mcp.upstreams[0].url,not a URL
            not http, a password in it      | 'ftp://me:s3cret-token@files/mcp'          | mcp.upstreams[0].url,ftp
            """)
    void aBadUpstreamUrlIsNamedWithoutWhatItMayHide(String name, String url, String mentions) throws IOException {
        String yaml = DEMO + "mcp:\n  upstreams:\n    - name: files\n      url: '" + url + "'\n";
        assertThatThrownBy(() -> load(yaml))
                .isInstanceOf(ConfigException.class)
                .message()
                .contains(mentions.split(","))
                .doesNotContain("s3cret");
    }

    @Test
    void anUpstreamPrintsWithoutItsUrlsSecrets() {
        var upstream = new io.countersign.mcp.McpConfig.Upstream(
                "files",
                java.util.List.of(),
                Map.of(),
                java.net.URI.create("https://me:s3cret@files.example/mcp?token=s3cret#x"),
                Map.of("Authorization", "Bearer s3cret"),
                null,
                null,
                null);
        assertThat(upstream.toString()).contains("https://files.example/mcp").doesNotContain("s3cret");
    }

    @Test
    void aSectionOfTheWrongShapeIsSaidInYamlsWordsNotJavas() {
        assertThatThrownBy(() -> load("server: [1]\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("server: expected a mapping, not a list")
                .hasMessageNotContaining("ConfigLoader")
                .hasMessageNotContaining("$");
    }

    @Test
    void hostsAreAddressesOrNamesByTheirFormAlone() {
        for (String good : java.util.List.of(
                "127.0.0.1", "0.0.0.0", "localhost", "countersign.internal", "a-1.example.com", "::1", "[::1]", "::"))
            assertThat(ConfigLoader.hostLike(good)).as(good).isTrue();
        for (String bad : java.util.List.of(
                "", "999.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", "-a.example", "a_b", "::g", "[::1", "a b"))
            assertThat(ConfigLoader.hostLike(bad)).as(bad).isFalse();
    }

    @Test
    void aYamlSyntaxErrorIsOneLineWithItsPlace() {
        assertThatThrownBy(() -> load("server:\n\tport: 8081\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("not valid YAML at line 2, column 1: ")
                .hasMessageContaining("TAB")
                .hasMessageNotContaining("\n")
                .hasMessageNotContaining("at line 1");
    }

    @Test
    void sameKeyHashTwiceIsRefused() throws IOException {
        String yaml = valid().replace(BOT_HASH, BOB_HASH);
        assertThatThrownBy(() -> load(yaml)).isInstanceOf(ConfigException.class).hasMessageContaining("api_key_sha256");
    }

    @Test
    void withoutIdentitiesTheDemoCastGetsOwnerOnlyKeysInTheDataDir() throws IOException {
        ServerConfig c = load(DEMO);
        Path env = dir.resolve("state").resolve(DemoIdentities.FILE);
        assertThat(c.demo()).isTrue();
        assertThat(c.identities()).hasSize(DemoIdentities.principals().size());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(env)))
                .isEqualTo("rw-------");
        String bobKey = DemoIdentities.keys(dir.resolve("state")).get("bob");
        assertThat(Files.readString(env)).contains("export CS_KEY_BOB=" + bobKey);
        assertThat(hashOf(c, "bob")).isEqualTo(ApiKeys.sha256Hex(bobKey));
    }

    @Test
    void demoKeysAreReusedOnTheNextLoad() throws IOException {
        ServerConfig first = load(DEMO);
        ServerConfig second = load(DEMO);
        assertThat(second.identities()).isEqualTo(first.identities());
    }

    private static String hashOf(ServerConfig c, String id) {
        return c.identities().stream()
                .filter(i -> i.principal().id().equals(id))
                .findFirst()
                .orElseThrow()
                .apiKeySha256();
    }

    private ServerConfig load(String yaml) throws IOException {
        return ConfigLoader.load(new ConfigLoader.Overrides(write(yaml), null, null, null, null));
    }

    private Path write(String yaml) throws IOException {
        return Files.writeString(dir.resolve("countersign.yaml"), yaml);
    }

    private static String valid() {
        return """
                server:
                  host: 127.0.0.1
                  port: 9191
                data_dir: state
                policy: policy.yaml
                sweep_interval: 2s
                max_wait: 5m
                identities:
                  - id: bob
                    kind: human
                    groups: [data-owners]
                    api_key_sha256: %s
                  - id: bot
                    kind: agent
                    owner: bob
                    model: m-1
                    risk_tier: high
                    api_key_sha256: %s
                """.formatted(BOB_HASH, BOT_HASH);
    }
}
