package io.countersign.store;

import io.countersign.core.spi.RequestStore;
import java.nio.file.Path;

class SqliteRequestServiceTest extends RaceContract {
    @Override
    RequestStore openStore(Path dir) {
        return SqliteStore.open(dir.resolve("countersign.db"), LedgerSettings.of(Demo.LEDGER_KEY));
    }
}
