-- Notifications to channels (Slack, Teams, email, webhooks). The ledger's events table is the
-- transactional outbox: every event is written in the transaction of the change it records. A
-- fan-out reads events after its cursor and plans the deliveries each channel asks for; each
-- delivery is then tried, leased and retried with backoff on its own, so one slow or failing peer
-- holds up nothing else, and a restart loses nothing.
CREATE TABLE delivery_cursor (
    name     TEXT    PRIMARY KEY,
    position INTEGER NOT NULL                   -- the last ledger index planned
) WITHOUT ROWID;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    channel         TEXT    NOT NULL,           -- slack, teams, email, webhook:<name>
    kind            TEXT    NOT NULL,           -- what the channel does: post, update, event, ...
    target          TEXT    NOT NULL,           -- where: a Slack channel, a principal id, a webhook name
    request_id      TEXT,
    event_index     INTEGER NOT NULL,           -- the ledger event that asked for it
    event_type      TEXT    NOT NULL,
    state           TEXT    NOT NULL,           -- pending, delivered, dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,           -- epoch ms; while an attempt runs, the end of its lease
    last_error      TEXT,
    ref             TEXT,                       -- the channel's handle on what it delivered (a Slack ts)
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (channel, kind, target, event_index)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_by_request ON deliveries (request_id, id);

-- One-time links and replayed interactions: a token's nonce is used once.
CREATE TABLE used_tokens (
    nonce   TEXT    PRIMARY KEY,
    used_at INTEGER NOT NULL
) WITHOUT ROWID;
