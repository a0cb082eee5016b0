-- Ledger nodes keyed in the order a growing tree completes them (Subtree.id: the index of the last
-- leaf under the node, shifted left 6, or its level), no longer level << 48 | index.
--
-- Keyed by level, each level's nodes were appended at the end of that level's own range of keys, so a
-- commit whose leaves completed subtrees on k levels rewrote the last page of k ranges: about a third
-- of the pages a batch of submissions wrote to the write-ahead log. Now a batch's nodes lie side by
-- side and share a page or two.
CREATE TABLE ledger_nodes_v7 (
    id   INTEGER PRIMARY KEY,
    hash BLOB    NOT NULL
);
INSERT INTO ledger_nodes_v7 (id, hash)
    SELECT (((((id & 281474976710655) + 1) << (id >> 48)) - 1) << 6) | (id >> 48), hash
    FROM ledger_nodes ORDER BY 1;
DROP TABLE ledger_nodes;
ALTER TABLE ledger_nodes_v7 RENAME TO ledger_nodes;
