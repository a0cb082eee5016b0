package io.countersign.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.RequestId;
import io.countersign.core.RequestService;
import io.countersign.core.json.Json;
import io.countersign.ledger.Hashes;
import io.countersign.ledger.Proofs;
import io.countersign.ledger.SignedCheckpoint;
import io.countersign.ledger.Subtree;
import io.countersign.ledger.VerifierKey;
import io.countersign.store.LedgerEntry;
import io.countersign.store.LedgerIntegrityException;
import io.countersign.store.SqliteStore;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The {@code /v1/ledger} routes and a request's evidence. Hashes are standard base64, as in
 * checkpoints; a leaf is returned as the exact string whose UTF-8 bytes were hashed.
 */
final class LedgerApi {
    static final int MAX_ENTRIES = 1000;

    private final SqliteStore store;
    private final RequestService service;
    private final Authenticator auth;
    private final VerifierKey key;

    LedgerApi(SqliteStore store, RequestService service, Authenticator auth, VerifierKey key) {
        this.store = store;
        this.service = service;
        this.auth = auth;
        this.key = key;
    }

    void routes(HttpRules rules) {
        rules.get("/v1/ledger/checkpoint", this::checkpoint)
                .get("/v1/ledger/key", this::key)
                .get("/v1/ledger/checkpoints", this::history)
                .get("/v1/ledger/entries", this::entries)
                .get("/v1/ledger/proofs/inclusion", this::inclusion)
                .get("/v1/ledger/proofs/consistency", this::consistency)
                .get("/v1/requests/{id}/evidence", this::evidence);
    }

    private void checkpoint(ServerRequest req, ServerResponse res) {
        auth.principal(req);
        intact();
        text(res, latest().note());
    }

    private void key(ServerRequest req, ServerResponse res) {
        auth.principal(req);
        text(res, key + "\n");
    }

    /** Earlier signed checkpoints, oldest first, spread over the log (at most {@code limit}, plus the latest). */
    private void history(ServerRequest req, ServerResponse res) {
        auth.principal(req);
        QueryParameters.only(req, "limit");
        long limit = param(req, "limit", 1000);
        if (limit < 1 || limit > 10_000)
            throw Bodies.problem(400, "out-of-range", "Out of range", "limit: 1 to 10000; got " + limit);
        ArrayNode notes = Json.mapper().createArrayNode();
        store.checkpoints((int) limit).forEach(c -> notes.add(c.note()));
        ObjectNode o = Json.mapper().createObjectNode();
        o.set("checkpoints", notes);
        RequestsApi.json(res, Status.OK_200, o);
    }

    private void entries(ServerRequest req, ServerResponse res) {
        auth.principal(req);
        QueryParameters.only(req, "start", "end");
        long size = store.ledgerSize();
        long start = param(req, "start", 0);
        long end = param(req, "end", Math.min(size, start + 100));
        if (start > end || end > size)
            throw Bodies.problem(
                    400,
                    "out-of-range",
                    "Out of range",
                    "want 0 <= start <= end <= " + size + " (the log's size); got start=" + start + ", end=" + end);
        if (end - start > MAX_ENTRIES)
            throw Bodies.problem(400, "out-of-range", "Out of range", "at most " + MAX_ENTRIES + " entries a page");
        ArrayNode items = Json.mapper().createArrayNode();
        List<String> leaves = store.entries(start, end);
        for (int i = 0; i < leaves.size(); i++)
            items.addObject().put("index", start + i).put("leaf", leaves.get(i));
        ObjectNode o = Json.mapper()
                .createObjectNode()
                .put("start", start)
                .put("end", end)
                .put("size", size);
        o.set("entries", items);
        RequestsApi.json(res, Status.OK_200, o);
    }

    private void inclusion(ServerRequest req, ServerResponse res) {
        auth.principal(req);
        QueryParameters.only(req, "index", "size");
        intact();
        long index = required(req, "index");
        long size = req.query().first("size").isPresent() ? param(req, "size", 0) : latest().size();
        checkSize(size);
        if (index >= size)
            throw Bodies.problem(400, "out-of-range", "Out of range", "index " + index + " is not below size " + size);
        ObjectNode o = Json.mapper().createObjectNode().put("index", index).put("size", size);
        o.put("leaf_hash", Hashes.base64(store.nodes().read(new long[] {Subtree.id(0, index)})[0]));
        o.set("hashes", base64(Proofs.inclusion(index, size, store.nodes())));
        RequestsApi.json(res, Status.OK_200, o);
    }

    private void consistency(ServerRequest req, ServerResponse res) {
        auth.principal(req);
        QueryParameters.only(req, "old", "new");
        intact();
        long old = required(req, "old");
        long size = req.query().first("new").isPresent() ? param(req, "new", 0) : latest().size();
        checkSize(size);
        if (old < 1 || old > size)
            throw Bodies.problem(
                    400, "out-of-range", "Out of range", "want 1 <= old <= new; got old=" + old + ", new=" + size);
        ObjectNode o = Json.mapper().createObjectNode().put("old", old).put("new", size);
        o.set("hashes", base64(Proofs.consistency(old, size, store.nodes())));
        RequestsApi.json(res, Status.OK_200, o);
    }

    /** Every event of the request with its inclusion proof against one checkpoint that covers them all. */
    private void evidence(ServerRequest req, ServerResponse res) {
        RequestId id = RequestsApi.id(req);
        service.get(id, auth.principal(req)); // 404 or 403 exactly as for the request itself
        intact();
        List<LedgerEntry> leaves = store.leaves(id);
        SignedCheckpoint c = store.checkpointNow().orElseGet(this::latest);
        ObjectNode o = Json.mapper().createObjectNode().put("request_id", id.value());
        o.put("checkpoint", c.note()).put("verifier_key", key.toString());
        ArrayNode events = o.putArray("events");
        for (LedgerEntry l : leaves) {
            if (l.index() >= c.size()) continue; // appended after the checkpoint was signed; in the next one
            ObjectNode e = events.addObject().put("index", l.index()).put("leaf", l.leaf());
            e.set("proof", base64(Proofs.inclusion(l.index(), c.size(), store.nodes())));
        }
        RequestsApi.json(res, Status.OK_200, o);
    }

    /** Proofs from a ledger that failed its start-up check would prove nothing: refuse them (entries stay readable). */
    private void intact() {
        store.integrityProblem().ifPresent(p -> {
            throw new LedgerIntegrityException(p);
        });
    }

    private SignedCheckpoint latest() {
        return store.latestCheckpoint()
                .or(store::checkpointNow)
                .orElseThrow(() -> Bodies.problem(
                        404, "no-checkpoint", "No checkpoint yet", "the ledger is empty; nothing has been signed"));
    }

    private void checkSize(long size) {
        if (size < 1 || size > store.ledgerSize())
            throw Bodies.problem(
                    400,
                    "out-of-range",
                    "Out of range",
                    "size must be 1 to " + store.ledgerSize() + " (the log's size); got " + size);
    }

    private static ArrayNode base64(List<byte[]> hashes) {
        ArrayNode a = Json.mapper().createArrayNode();
        hashes.forEach(h -> a.add(Hashes.base64(h)));
        return a;
    }

    private static long required(ServerRequest req, String name) {
        if (req.query().first(name).isEmpty())
            throw Bodies.problem(400, "invalid-parameter", "Invalid parameter", name + ": is required");
        return param(req, name, 0);
    }

    private static long param(ServerRequest req, String name, long fallback) {
        var v = req.query().first(name);
        if (v.isEmpty()) return fallback;
        try {
            long n = Long.parseLong(v.get());
            if (n < 0) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw Bodies.problem(
                    400,
                    "invalid-parameter",
                    "Invalid parameter",
                    name + ": a whole number of 0 or more is required; got '" + v.get() + "'");
        }
    }

    private static void text(ServerResponse res, String body) {
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        res.send(body.getBytes(StandardCharsets.UTF_8));
    }
}
