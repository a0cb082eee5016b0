package io.countersign.core;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Callers blocked until a request changes. A waiter registers, re-reads the request (so a change
 * that landed in between is never missed) and then blocks on its future; {@link #changed} completes
 * every future registered for the request. Blocking happens on the caller's (virtual) thread.
 */
final class ChangeWaiters {
    private final Map<RequestId, Set<CompletableFuture<Void>>> waiting = new ConcurrentHashMap<>();

    CompletableFuture<Void> register(RequestId id) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        waiting.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet()).add(f);
        return f;
    }

    void unregister(RequestId id, CompletableFuture<Void> f) {
        waiting.computeIfPresent(id, (k, set) -> {
            set.remove(f);
            return set.isEmpty() ? null : set;
        });
    }

    void changed(RequestId id) {
        Set<CompletableFuture<Void>> set = waiting.remove(id);
        if (set != null) set.forEach(f -> f.complete(null));
    }

    int size() {
        return waiting.values().stream().mapToInt(Set::size).sum();
    }
}
