package io.countersign.core;

import java.util.Collection;
import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

/**
 * Sets of names (groups, users) as records hold them: unmodifiable and in sorted order, so that an
 * API response, a stored document and a ledger event list them alike however the set was made or read
 * back ({@code Set.copyOf}'s order changes from one run of the JVM to the next).
 */
final class Sorted {
    private Sorted() {}

    /** {@code names}, sorted and unmodifiable; empty for null. */
    static Set<String> of(Collection<String> names) {
        if (names == null || names.isEmpty()) return Set.of();
        return Collections.unmodifiableSortedSet(new TreeSet<>(names));
    }
}
