-- ledgerlink state store, schema version 1.
--
-- One file for SQLite and PostgreSQL alike: only TEXT and BIGINT columns, natural primary keys,
-- no AUTOINCREMENT / SERIAL / IDENTITY. Numbered rows (intents.sequence, events.id,
-- suggestions.id) take their numbers from the `counters` table inside the writing transaction,
-- which also makes the numbers follow commit order (see src/state/mod.rs).
-- JSON is stored as TEXT, decimals as TEXT, timestamps as TEXT in RFC 3339 UTC with a fixed
-- width (`2024-05-01T12:00:00.000000Z`) so that text order is time order.

-- Next-number counters; `value` is the last number handed out.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('intents', 0);
INSERT INTO counters (name, value) VALUES ('events', 0);
INSERT INTO counters (name, value) VALUES ('suggestions', 0);

-- Last seen mapped field values of a source record (change detection).
CREATE TABLE snapshots (
    project   TEXT NOT NULL,
    system    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    fields    TEXT NOT NULL,
    hash      TEXT NOT NULL,
    seen_at   TEXT NOT NULL,
    PRIMARY KEY (project, system, entity, record_id)
);

-- The delivery ledger: one row per intended write, keyed by its deterministic key.
CREATE TABLE intents (
    intent_key      TEXT PRIMARY KEY,
    sequence        BIGINT NOT NULL UNIQUE,
    project         TEXT NOT NULL,
    flow            TEXT NOT NULL,
    source          TEXT NOT NULL,
    system          TEXT NOT NULL,
    entity          TEXT NOT NULL,
    operation       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    lookup          TEXT,
    idempotency_key TEXT,
    depends_on      TEXT NOT NULL,
    status          TEXT NOT NULL
        CHECK (status IN ('pending', 'attempted', 'done', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    target_id       TEXT,
    response        TEXT,
    error           TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX intents_by_project_status ON intents (project, status, sequence);
CREATE INDEX intents_by_project ON intents (project, sequence);

-- Incremental listing cursors.
CREATE TABLE watermarks (
    project    TEXT NOT NULL,
    system     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (project, system, entity)
);

-- Identity links, one row per end: a record belongs to at most one link per sync, whichever
-- side it is on. A link is the pair of rows (side 'left', side 'right') pointing at each other.
CREATE TABLE links (
    project        TEXT NOT NULL,
    sync           TEXT NOT NULL,
    system         TEXT NOT NULL,
    record_id      TEXT NOT NULL,
    side           TEXT NOT NULL CHECK (side IN ('left', 'right')),
    partner_system TEXT NOT NULL,
    partner_id     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (project, sync, system, record_id)
);
CREATE INDEX links_by_side ON links (project, sync, side);

-- The export log: every transfer, skip and failure with its reason.
CREATE TABLE events (
    id         BIGINT PRIMARY KEY,
    at         TEXT NOT NULL,
    project    TEXT NOT NULL,
    flow       TEXT,
    kind       TEXT NOT NULL CHECK (kind IN ('transferred', 'skipped', 'failed', 'retried',
                                             'held', 'suggested', 'conflict', 'info')),
    source     TEXT,
    target     TEXT,
    intent_key TEXT,
    message    TEXT NOT NULL,
    details    TEXT NOT NULL
);
CREATE INDEX events_by_project ON events (project, id);
CREATE INDEX events_by_project_kind ON events (project, kind, id);
CREATE INDEX events_by_project_flow ON events (project, flow, id);
CREATE INDEX events_by_intent ON events (intent_key);

-- Fuzzy-match candidates waiting for (or after) a human decision.
CREATE TABLE suggestions (
    id               BIGINT PRIMARY KEY,
    project          TEXT NOT NULL,
    sync             TEXT NOT NULL,
    system           TEXT NOT NULL,
    record_id        TEXT NOT NULL,
    candidate_system TEXT NOT NULL,
    candidate_id     TEXT NOT NULL,
    score            TEXT NOT NULL,
    details          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    created_at       TEXT NOT NULL,
    decided_at       TEXT,
    UNIQUE (project, sync, system, record_id, candidate_system, candidate_id)
);
CREATE INDEX suggestions_by_project_status ON suggestions (project, status, id);
