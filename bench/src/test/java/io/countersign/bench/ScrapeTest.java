package io.countersign.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ScrapeTest {
    @Test
    void readsCountersAndQuantilesFromPrometheusText() {
        Scrape s = Scrape.parse("""
                # HELP countersign_store_writes_total writes committed
                # TYPE countersign_store_writes_total counter
                countersign_store_writes_total 1234.0
                countersign_store_commits_total 56.0
                countersign_policy_decision_seconds{quantile="0.99"} 1.2E-5
                """);
        assertThat(s.get(Scrape.WRITES)).hasValue(1234.0);
        assertThat(s.get(Scrape.COMMITS)).hasValue(56.0);
        assertThat(s.find("countersign_policy_decision_seconds", "quantile=\"0.99\""))
                .hasValue(1.2e-5);
        assertThat(s.find("countersign_policy_decision_seconds", "quantile=\"0.5\""))
                .isEmpty();
    }
}
