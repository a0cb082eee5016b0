package io.countersign.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** bench/README.md's section on {@code bench/run mcp} keeps up with the benchmark's own options. */
class McpLatencyReadmeTest {
    private static final Pattern OPTION = Pattern.compile("--[a-z][a-z-]*");

    @Test
    void theReadmesMcpSectionDescribesEveryOptionTheBenchmarkTakes() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int start = readme.indexOf("## mcp: `McpLatency`");
        assertThat(start).as("an MCP section in bench/README.md").isNotNegative();
        int end = readme.indexOf("\n## ", start + 1);
        String section = end < 0 ? readme.substring(start) : readme.substring(start, end);

        Set<String> options = optionsIn(help());

        assertThat(options).contains("--calls", "--warmup", "--upstream", "--writes", "--data", "--servers");
        assertThat(options).allSatisfy(o -> assertThat(section).contains("`" + o));
        assertThat(section).contains("bench/run mcp").contains("0.5 ms");
        assertThat(readme).contains("bench/run mcp ");
    }

    private static String help() throws Exception {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            McpLatency.main(new String[] {"--help"});
        } finally {
            System.setOut(out);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    private static Set<String> optionsIn(String help) {
        Set<String> out = new LinkedHashSet<>();
        Matcher m = OPTION.matcher(help);
        while (m.find()) out.add(m.group());
        return out;
    }
}
