-- Requests again, as a rowid table with the digest in a column of its own.
--
-- Rows of a WITHOUT ROWID table live in an index b-tree, whose cells hold at most about 1,000 bytes
-- of a 4 KiB page before spilling onto an overflow page of their own; a request's row, its JSON
-- document included, is larger than that, so every request took a leaf cell plus a mostly empty
-- overflow page: some 4.7 KiB written per request, over half of what a submission writes. In a
-- rowid table three or four requests share a leaf page; the id's uniqueness is an index beside it.
--
-- The MCP gateway's lookup of an open request by requester and digest was indexed on
-- json_extract(doc, '$.digest'), which parsed the whole document on every insert and update of a
-- pending or approved request, on the store's single writer; the digest never changes once set.
CREATE TABLE requests_v5 (
    id               TEXT    NOT NULL PRIMARY KEY,
    requester        TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,          -- epoch milliseconds
    expires_at       INTEGER,                   -- pending requests: when pending_ttl passes
    grant_expires_at INTEGER,                   -- approved requests with an unused grant: when grant_ttl passes
    digest           TEXT    NOT NULL,          -- the request's digest, as in doc
    doc              TEXT    NOT NULL
);
INSERT INTO requests_v5 (id, requester, state, created_at, expires_at, grant_expires_at, digest, doc)
    SELECT id, requester, state, created_at, expires_at, grant_expires_at, json_extract(doc, '$.digest'), doc
    FROM requests ORDER BY id;
DROP TABLE requests;
ALTER TABLE requests_v5 RENAME TO requests;
CREATE INDEX requests_by_state ON requests (state, id);
CREATE INDEX requests_by_requester ON requests (requester, id);
CREATE INDEX requests_pending_expiry ON requests (expires_at) WHERE state = 'pending';
CREATE INDEX requests_grant_expiry ON requests (grant_expires_at) WHERE state = 'approved';
CREATE INDEX requests_open_by_digest ON requests (requester, digest, id) WHERE state IN ('pending', 'approved');
