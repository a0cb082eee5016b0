-- The MCP gateway resumes a held tool call: the open request by requester and digest.
CREATE INDEX requests_open_by_digest ON requests (requester, json_extract(doc, '$.digest'), id)
    WHERE state IN ('pending', 'approved');

-- MCP tool definitions trusted per upstream, pinned by hash; a changed one waits on a request.
CREATE TABLE mcp_tool_pins (
    upstream        TEXT    NOT NULL,
    tool            TEXT    NOT NULL,
    sha256          TEXT    NOT NULL,
    pending_sha256  TEXT,
    pending_request TEXT,
    updated_at      INTEGER NOT NULL,           -- epoch milliseconds
    PRIMARY KEY (upstream, tool)
) WITHOUT ROWID;
