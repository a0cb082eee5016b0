package io.countersign.cli;

import io.countersign.server.CountersignServer;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.DemoIdentities;
import io.countersign.server.config.ServerConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Run the Countersign server.",
            "With no flags: SQLite in ./data, the example policy, demo identities (keys printed and written to data/demo.env), "
                    + "on 127.0.0.1:8080."
        })
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "YAML config file (see examples/countersign.yaml)")
    Path config;

    @Option(names = "--data", paramLabel = "DIR", description = "Data directory (default: ./data)")
    Path data;

    @Option(names = "--port", paramLabel = "N", description = "Port (default: 8080; 0 picks a free port)")
    Integer port;

    @Option(names = "--host", paramLabel = "HOST", description = "Interface to bind (default: 127.0.0.1)")
    String host;

    @Option(names = "--policy", paramLabel = "FILE", description = "Policy file (default: examples/policy.yaml)")
    Path policy;

    @Override
    public Integer call() throws InterruptedException {
        ServerConfig cfg = ConfigLoader.load(new ConfigLoader.Overrides(config, data, port, host, policy));
        CountersignServer server = CountersignServer.start(cfg);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }));
        String url = "http://" + cfg.host() + ":" + server.port();
        System.out.println("Countersign is running at " + url + "  (policy: " + cfg.policyFile() + ", data: "
                + cfg.dataDir() + ")");
        System.out.println("Ledger verifier key (give it to your auditors): " + server.verifierKey());
        server.integrityProblem()
                .ifPresent(p -> System.out.println("LEDGER INTEGRITY CHECK FAILED: " + p
                        + "\nServing reads only; every write is refused until this is resolved."));
        if (cfg.demo()) printDemo(cfg, url);
        System.out.flush();
        stopped.await();
        return 0;
    }

    private static void printDemo(ServerConfig cfg, String url) {
        Map<String, String> keys = DemoIdentities.keys(cfg.dataDir());
        System.out.println();
        System.out.println(
                "  DEMO IDENTITIES - for trying Countersign on this machine only; configure real ones with --config.");
        for (var p : DemoIdentities.principals()) {
            String what = p.kind().wire()
                    + (p.owner() != null ? ", owner " + p.owner() : "")
                    + (p.groups().isEmpty() ? "" : ", groups " + String.join(",", new java.util.TreeSet<>(p.groups())));
            System.out.printf(
                    "    %-13s %-40s %s=%s%n",
                    p.id(), "(" + what + ")", DemoIdentities.variable(p.id()), keys.get(p.id()));
        }
        System.out.println();
        System.out.println("  Load them into a shell:  source " + cfg.dataDir().resolve(DemoIdentities.FILE)
                + "  &&  export COUNTERSIGN_URL=" + url);
        System.out.println();
    }
}
