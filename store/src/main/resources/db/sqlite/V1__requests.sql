-- Requests: indexed columns for the queries, the full record as JSON in doc.
CREATE TABLE requests (
    id               TEXT PRIMARY KEY,
    requester        TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,          -- epoch milliseconds
    expires_at       INTEGER,                   -- pending requests: when pending_ttl passes
    grant_expires_at INTEGER,                   -- approved requests with an unused grant: when grant_ttl passes
    doc              TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX requests_by_state ON requests (state, id);
CREATE INDEX requests_by_requester ON requests (requester, id);
CREATE INDEX requests_pending_expiry ON requests (expires_at) WHERE state = 'pending';
CREATE INDEX requests_grant_expiry ON requests (grant_expires_at) WHERE state = 'approved';

-- The event log: one row per ledger leaf, seq assigned in commit order by the single writer.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    request_id TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    body       TEXT    NOT NULL                 -- RFC 8785 canonical JSON: the leaf bytes
);
CREATE INDEX events_by_request ON events (request_id, seq);

CREATE TABLE idempotency_keys (
    requester   TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (requester, key)
) WITHOUT ROWID;
