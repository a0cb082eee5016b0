package io.countersign.bench;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** Waiting for benchmark tasks, so that one that failed stops the run instead of shrinking its figures. */
final class Tasks {
    private Tasks() {}

    /** Waits for each of {@code tasks}; rethrows the first failure. */
    static void joinAll(List<? extends Future<?>> tasks) throws InterruptedException {
        for (Future<?> f : tasks) {
            try {
                f.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("a benchmark task failed: " + e.getCause(), e.getCause());
            }
        }
    }
}
