package io.countersign.store;

import io.countersign.core.LearnedLink;
import io.countersign.core.LedgerEvent;
import io.countersign.core.Request;
import io.countersign.core.RequestId;
import io.countersign.core.ToolPin;
import io.countersign.core.spi.RequestStore;
import io.countersign.core.spi.StorageException;
import io.countersign.ledger.Hashes;
import io.countersign.ledger.NodeReader;
import io.countersign.ledger.SignedCheckpoint;
import io.countersign.ledger.Subtree;
import io.countersign.ledger.VerifierKey;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded store: one SQLite file in WAL mode.
 *
 * <p>Design notes. SQLite has one writer at a time, so writes go through one {@link GroupCommitter}
 * thread that drains whatever works are queued, runs each in its own savepoint inside one
 * transaction, and commits once: concurrent callers share one fsync ({@code synchronous=FULL}, so
 * an acknowledged write survives a crash of the process or the machine). Every write is therefore
 * serialised, which is what makes races between reviewers, redeems and expiry resolve to exactly
 * one outcome. Reads use a small pool of read-only connections and, in WAL mode, never wait for
 * the writer. A {@link WalCheckpointer} copies the log back into the database file on a connection
 * of its own, so that the writer's commits seldom do.
 */
public final class SqliteStore implements RequestStore {
    private static final Logger LOG = LoggerFactory.getLogger(SqliteStore.class);
    private static final int READERS = 4;

    private final Path file;
    private final FileLock lock;
    private final Path mirror;
    private final Sequencer sequencer;
    private final GroupCommitter writer;
    private final WalCheckpointer walCheckpointer;
    private final String integrityProblem;
    private final SqliteOutbox outbox = new SqliteOutbox(this::read, this::write);
    private final BlockingQueue<Connection> readers = new ArrayBlockingQueue<>(READERS);
    private final java.util.concurrent.ConcurrentHashMap<Long, byte[]> upperNodes =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.ConcurrentHashMap<Connection, java.util.Map<Integer, java.sql.PreparedStatement>>
            statements = new java.util.concurrent.ConcurrentHashMap<>();

    private SqliteStore(
            Path file,
            FileLock lock,
            Connection writeConnection,
            Connection checkpointConnection,
            LedgerSettings ledger,
            LedgerCheck.Result check) {
        this.file = file;
        this.lock = lock;
        this.mirror = mirrorOf(file);
        this.integrityProblem = check.problem();
        this.sequencer = new Sequencer(ledger, check.tree(), check.latest(), check.problem() != null);
        this.writer = new GroupCommitter(writeConnection, sequencer, this::mirror);
        this.walCheckpointer = new WalCheckpointer(checkpointConnection, writer::commits, writer::restartLog);
    }

    /**
     * Opens (creating and migrating if needed) the database file at {@code file}, and checks its ledger
     * against the last signed checkpoint. If the check fails the store still opens, for reading, and
     * refuses every write with a {@link LedgerIntegrityException}; {@link #integrityProblem()} says why.
     * One process at a time: a second, even on another port, gets a {@link StorageException} saying the
     * database is in use, before it has written anything.
     */
    public static SqliteStore open(Path file, LedgerSettings ledger) {
        FileLock lock = null;
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null && !Files.exists(parent)) {
                // Requests hold their full parameters: the data directory is the owner's alone.
                Files.createDirectories(
                        parent, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            lock = lock(file);
            Connection w = connect(file, false);
            Migrations.apply(w, "sqlite");
            w.setAutoCommit(false);
            List<VerifierKey> trusted = new ArrayList<>();
            trusted.add(ledger.key().verifierKey());
            trusted.addAll(ledger.formerKeys());
            Path mirror = mirrorOf(file);
            String mirrored = Files.exists(mirror) ? Files.readString(mirror) : null;
            LedgerCheck.Result check = LedgerCheck.run(w, trusted, mirrored);
            w.rollback();
            if (check.problem() != null) {
                LOG.error(
                        "LEDGER CHECK FAILED for {}: {}. Writes are refused until this is resolved.",
                        file.toAbsolutePath(),
                        check.problem());
            } else {
                LOG.info(
                        "ledger verified: {} events, root {}",
                        check.tree().size(),
                        Hashes.base64(check.tree().root()));
            }
            SqliteStore store = new SqliteStore(file, lock, w, connect(file, false), ledger, check);
            for (int i = 0; i < READERS; i++) store.readers.add(connect(file, true));
            LOG.info("SQLite store open at {}", file.toAbsolutePath());
            return store;
        } catch (SQLException | java.io.IOException | RuntimeException e) {
            release(lock);
            if (e instanceof StorageException s) throw s;
            throw new StorageException("cannot open SQLite database " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * An exclusive lock on {@code <database>.lock}, held while the store is open. Two servers on one
     * database would each run a writer that numbers ledger entries from what it last saw, so the second
     * one's commits would clash with the first's (or, worse, interleave); SQLite's own locking serialises
     * transactions, not writers. The lock is the operating system's, so it goes with the process, however
     * that ends.
     */
    private static FileLock lock(Path db) throws java.io.IOException {
        Path path = db.resolveSibling(db.getFileName() + ".lock");
        FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // this process has it open already
        }
        if (lock == null) {
            channel.close();
            throw new StorageException(
                    "the database " + db.toAbsolutePath() + " is in use by another Countersign (it holds " + path
                            + "): stop that one first, or give this one a data directory of its own (--data)",
                    null);
        }
        return lock;
    }

    private static void release(FileLock lock) {
        if (lock == null) return;
        try {
            lock.channel().close();
        } catch (java.io.IOException e) {
            LOG.warn("releasing the database lock failed: {}", e.getMessage());
        }
    }

    /** The file beside the database that holds the last signed checkpoint, to catch a rolled-back database. */
    static Path mirrorOf(Path db) {
        return db.resolveSibling(db.getFileName() + ".checkpoint");
    }

    private void mirror(SignedCheckpoint c) {
        try {
            Path tmp = mirror.resolveSibling(mirror.getFileName() + ".tmp");
            Files.writeString(tmp, c.note());
            Files.move(tmp, mirror, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (java.io.IOException e) {
            LOG.warn("cannot write {}: {}", mirror, e.getMessage());
        }
    }

    /** Why the ledger check at open failed, or empty when the ledger is intact. */
    public Optional<String> integrityProblem() {
        return Optional.ofNullable(integrityProblem);
    }

    private static Connection connect(Path file, boolean readOnly) throws SQLException {
        java.util.Properties props = new java.util.Properties();
        // sqlite-jdbc otherwise runs SELECT last_insert_rowid() after every INSERT; nothing here uses it.
        props.setProperty("jdbc.get_generated_keys", "false");
        Connection c = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath(), props);
        try (Statement s = c.createStatement()) {
            s.execute("PRAGMA busy_timeout = 10000");
            s.execute("PRAGMA journal_mode = WAL");
            s.execute("PRAGMA synchronous = FULL");
            // Only the writer commits; the WalCheckpointer does most of the copying back before this.
            if (!readOnly) s.execute("PRAGMA wal_autocheckpoint = " + WalCheckpointer.WRITER_PAGES);
            // Each work runs in a savepoint, which keeps the pages it changes in a sub-journal; past 64 KiB
            // a batch's sub-journal went to a temporary file, a write per page. In memory it is freed at commit.
            s.execute("PRAGMA temp_store = MEMORY");
            s.execute("PRAGMA foreign_keys = ON");
            if (readOnly) s.execute("PRAGMA query_only = ON");
        }
        return c;
    }

    public Path file() {
        return file;
    }

    @Override
    public <T> T write(Work<T> work) {
        if (integrityProblem != null) throw new LedgerIntegrityException(integrityProblem);
        return writer.submit(work);
    }

    // ---- the ledger ------------------------------------------------------------------------

    /** Leaves in the committed tree. */
    public long ledgerSize() {
        return sequencer.size();
    }

    /** The last signed checkpoint, if any has been signed. */
    public Optional<SignedCheckpoint> latestCheckpoint() {
        return Optional.ofNullable(sequencer.latest());
    }

    /** Signs a checkpoint now if entries wait for one, and returns the latest. */
    public Optional<SignedCheckpoint> checkpointNow() {
        if (integrityProblem != null) return latestCheckpoint(); // never sign over a ledger that failed its check
        if (sequencer.latest() == null || sequencer.latest().size() < sequencer.size()) {
            writer.submit(tx -> {
                ((SqlTx) tx).wantCheckpoint();
                return null;
            });
        }
        return latestCheckpoint();
    }

    /** The stored hashes of complete subtrees, for proofs. */
    public NodeReader nodes() {
        return this::readNodes;
    }

    /**
     * Nodes of level 10 and up (one per 1,024 leaves) never change and are few, so they are kept in
     * memory once read; the rest come from one cached IN-query per proof.
     */
    private byte[][] readNodes(long[] ids) {
        byte[][] out = new byte[ids.length][];
        long[] missing = new long[ids.length];
        int m = 0;
        for (int i = 0; i < ids.length; i++) {
            out[i] = upperNodes.get(ids[i]);
            if (out[i] == null) missing[m++] = ids[i];
        }
        if (m == 0) return out;
        long[] want = java.util.Arrays.copyOf(missing, m);
        byte[][] found = read(c -> Sql.nodes(c, want, statements.computeIfAbsent(c, k -> new java.util.HashMap<>())));
        for (int i = 0, j = 0; i < ids.length; i++) {
            if (out[i] != null) continue;
            out[i] = found[j++];
            if (Subtree.of(ids[i]).level() >= 10) upperNodes.putIfAbsent(ids[i], out[i]);
        }
        return out;
    }

    /** Leaf bytes of entries {@code [start, end)}. */
    public List<String> entries(long start, long end) {
        return read(c -> Sql.entries(c, start, end));
    }

    /** The events of one request with their leaf indexes and leaf bytes. */
    public List<LedgerEntry> leaves(RequestId id) {
        return read(c -> Sql.leaves(c, id));
    }

    /** Signed checkpoints, oldest first, at most {@code limit} of them spread evenly over the log, plus the latest. */
    public List<SignedCheckpoint> checkpoints(int limit) {
        return read(c -> Sql.checkpoints(c, limit));
    }

    @Override
    public Optional<Request> find(RequestId id) {
        return read(c -> Sql.findRequest(c, id));
    }

    @Override
    public List<Request> list(Query query) {
        return read(c -> Sql.listRequests(c, query));
    }

    @Override
    public List<RequestId> dueForExpiry(Instant now, int limit) {
        return read(c -> Sql.dueForExpiry(c, now, limit));
    }

    @Override
    public List<LedgerEvent> events(RequestId id) {
        return read(c -> Sql.events(c, id));
    }

    @Override
    public Map<String, ToolPin> toolPins(String upstream) {
        return read(c -> PinSql.read(c, upstream));
    }

    @Override
    public List<LearnedLink> learnedLinks() {
        return read(LinkSql::all);
    }

    /** Deliveries to notification channels, planned from this ledger. */
    public io.countersign.core.spi.Outbox outbox() {
        return outbox;
    }

    /** How many works the writer has committed, and in how many transactions (for metrics). */
    public GroupCommitter.Stats writeStats() {
        return writer.stats();
    }

    @Override
    public void close() {
        walCheckpointer.close();
        writer.close();
        Connection c;
        while ((c = readers.poll()) != null) {
            try {
                c.close();
            } catch (SQLException e) {
                LOG.warn("closing a read connection failed: {}", e.getMessage());
            }
        }
        release(lock);
    }

    private <T> T read(Sql.Query<T> query) {
        Connection c;
        try {
            c = readers.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException("interrupted while waiting for a read connection", e);
        }
        try {
            return query.run(c);
        } catch (SQLException e) {
            throw new StorageException("read failed: " + e.getMessage(), e);
        } finally {
            readers.add(c);
        }
    }
}
