-- The append-only, hash-chained event store: one stream per permit (or application).
CREATE TABLE events (
    position     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- global order readers page through
    stream_id    text        NOT NULL,
    version      integer     NOT NULL CHECK (version >= 1),
    event_type   text        NOT NULL,
    article      text        NOT NULL,  -- the article applied, e.g. '9' or 'ALL 42'
    actor        text        NOT NULL,
    payload      jsonb       NOT NULL,
    occurred_at  timestamptz NOT NULL,  -- workflow time
    recorded_at  timestamptz NOT NULL,
    prev_hash    bytea,                 -- NULL on a stream's first event
    hash         bytea       NOT NULL,
    UNIQUE (stream_id, version)          -- the optimistic concurrency check
);
CREATE INDEX events_type_idx ON events (event_type);

-- Append-only: rows are never changed or removed by the application.
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event store is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Read model: one row per permit/application, updated in the same transaction as its events.
CREATE TABLE permits (
    stream_id                 text PRIMARY KEY,
    version                   integer     NOT NULL,  -- last event version applied (projection position)
    kind                      text        NOT NULL,
    status                    text        NOT NULL,
    stage                     text,
    enterprise_name           text,
    credit_code               text,
    district                  text,
    permit_number             text,
    policy_version            text,
    workflow_id               text,
    next_deadline_at          timestamptz,
    next_deadline_label       text,
    next_deadline_provisional boolean,
    pending                   text[]      NOT NULL DEFAULT '{}',
    valid_from                date,
    valid_until               date,
    updated_at                timestamptz NOT NULL
);
CREATE INDEX permits_status_idx ON permits (status);
CREATE INDEX permits_district_idx ON permits (district);
CREATE INDEX permits_credit_code_idx ON permits (credit_code);

-- Case numbers are handed out by the database, never made up inside a workflow.
CREATE SEQUENCE application_seq;

-- The official State Council holiday schedule per year (overrides the library's baseline).
CREATE TABLE holiday_schedules (
    year       integer PRIMARY KEY,
    source     text        NOT NULL,
    holidays   date[]      NOT NULL,
    workdays   date[]      NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT now(),
    loaded_by  text        NOT NULL
);

-- Tasks waiting on a body (the agency inbox), projected from each workflow's state with its events.
CREATE TABLE tasks (
    task_id      text PRIMARY KEY,
    stream_id    text        NOT NULL,
    body         text        NOT NULL,  -- 'district:nansha', 'customs_gz', 'enterprise:9144…'
    kind         text        NOT NULL,  -- the step: accept, preliminary_review, joint_review, …
    label        text        NOT NULL,
    due_date     date,
    ends_at      timestamptz,
    provisional  boolean,
    opened_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_body_idx ON tasks (body);
CREATE INDEX tasks_stream_idx ON tasks (stream_id);

-- Art. 24 / ALL 78–79: applicants who may not apply again until a date.
CREATE TABLE bans (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code  text    NOT NULL,
    article      text    NOT NULL,
    reason       text    NOT NULL,
    starts_on    date    NOT NULL,
    ends_on      date    NOT NULL,  -- the first day a new application is accepted again
    stream_id    text    NOT NULL,
    UNIQUE (stream_id, article)      -- one ban per decision, however often the activity retries
);
CREATE INDEX bans_credit_code_idx ON bans (credit_code, ends_on);

CREATE SEQUENCE permit_number_seq;
