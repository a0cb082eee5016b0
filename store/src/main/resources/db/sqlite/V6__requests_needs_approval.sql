-- Only requests that policy held for approval can be resumed by an identical call
-- (RequestService.submitOrResume), so only they need to be found by digest.
--
-- The digest is random, so each request entering requests_open_by_digest landed on a page of its own
-- in that index: one more 4 KiB page in the write-ahead log per allowed request, although no lookup
-- ever looks for an allowed one. The index now holds only requests that needed approval.
ALTER TABLE requests ADD COLUMN needs_approval INTEGER NOT NULL DEFAULT 0;
UPDATE requests SET needs_approval = 1
    WHERE state IN ('pending', 'approved') AND json_extract(doc, '$.decision.outcome') = 'require_approval';
DROP INDEX requests_open_by_digest;
CREATE INDEX requests_open_by_digest ON requests (requester, digest, id)
    WHERE needs_approval = 1 AND state IN ('pending', 'approved');
