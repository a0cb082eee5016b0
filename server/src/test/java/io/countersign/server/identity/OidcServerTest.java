package io.countersign.server.identity;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A test against a fresh server that trusts a real IdP ({@link OidcFixture}), started before each test. */
abstract class OidcServerTest {
    @TempDir
    Path data;

    OidcFixture cs;

    @BeforeEach
    void startServer() {
        cs = new OidcFixture(data);
    }

    @AfterEach
    void stopServer() {
        cs.close();
    }
}
