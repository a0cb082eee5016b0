-- The ledger (RFC 9162). events.seq becomes the leaf index, counted from 0, and request_id may be
-- null for events that concern no request (a policy load, a key rotation).
CREATE TABLE events_v2 (
    seq        INTEGER PRIMARY KEY,             -- the leaf index, assigned in commit order
    request_id TEXT,
    type       TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    body       TEXT    NOT NULL                 -- RFC 8785 canonical JSON: the leaf bytes
);
INSERT INTO events_v2 (seq, request_id, type, at, body)
    SELECT seq - 1, request_id, type, at, body FROM events ORDER BY seq;
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;
CREATE INDEX events_by_request ON events (request_id, seq);

-- Hashes of complete subtrees, written once when complete: id = level << 48 | index (level 0 = leaf
-- hashes). A proof or a root reads O(log n) of them.
CREATE TABLE ledger_nodes (
    id   INTEGER PRIMARY KEY,
    hash BLOB    NOT NULL
);

-- Signed checkpoints (C2SP signed notes), one per batch interval.
CREATE TABLE checkpoints (
    size      INTEGER PRIMARY KEY,
    root      BLOB    NOT NULL,
    note      TEXT    NOT NULL,
    key       TEXT    NOT NULL,                 -- the verifier key that signed it
    signed_at INTEGER NOT NULL                  -- epoch milliseconds
);
