package io.countersign.core;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** core does no I/O and knows nothing of HTTP or SQL (DESIGN.md, code layout). */
class CoreHasNoIoTest {
    static final JavaClasses CORE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.countersign.core");

    @Test
    void coreUsesNoFileNetworkOrSqlApi() {
        noClasses()
                .that()
                .resideInAPackage("io.countersign.core..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "java.sql..",
                        "java.net..",
                        "java.net.http..",
                        "java.nio.file..",
                        "com.sun.net.httpserver..",
                        "io.helidon..")
                .orShould()
                .dependOnClassesThat()
                .haveFullyQualifiedName("java.io.File")
                .orShould()
                .dependOnClassesThat()
                .haveFullyQualifiedName("java.io.FileInputStream")
                .orShould()
                .dependOnClassesThat()
                .haveFullyQualifiedName("java.io.FileOutputStream")
                .check(CORE);
    }

    @Test
    void theRuleSeesCoreClasses() {
        org.assertj.core.api.Assertions.assertThat(CORE.contain(RequestStateMachine.class))
                .isTrue();
    }
}
