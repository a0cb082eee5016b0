-- Outside identities that verified tokens tied to a principal (a verified email, a Slack or Teams id,
-- a token subject). Once learned, a link names the same principal for good: kept here so that a
-- restart does not let one person come back under a second subject as a second approver.
CREATE TABLE learned_links (
    kind           TEXT    NOT NULL,            -- oidc, email, slack, teams
    value          TEXT    NOT NULL,            -- normalised
    principal      TEXT    NOT NULL,
    principal_kind TEXT    NOT NULL,            -- human, agent, service
    learned_at     INTEGER NOT NULL,            -- epoch milliseconds
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
