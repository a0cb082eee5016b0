package io.countersign.bench;

import java.util.ArrayList;
import java.util.List;

/** JVM flags for forked benchmark and client JVMs. */
final class Jvm {
    private Jvm() {}

    /**
     * Flags that keep JDK 23+ from warning about protobuf's sun.misc.Unsafe use (via CEL) and
     * sqlite-jdbc's native library; none on older JDKs, which would refuse them.
     */
    static List<String> quietFlags() {
        List<String> flags = new ArrayList<>();
        int feature = Runtime.version().feature();
        if (feature >= 23) flags.add("--sun-misc-unsafe-memory-access=allow");
        if (feature >= 22) flags.add("--enable-native-access=ALL-UNNAMED");
        return flags;
    }

    /** The quiet flags this JVM was not started with (a forked JVM inherits this one's flags). */
    static List<String> quietFlagsNotInherited() {
        List<String> inherited =
                java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments();
        return quietFlags().stream().filter(f -> !inherited.contains(f)).toList();
    }
}
