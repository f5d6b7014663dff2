-- Supervision (Art. 19-22, 26): the annual inspection campaign, complaints, interviews and spot
-- inspections, the violation register, and an index for deadline oversight.

-- Art. 22: one campaign per year. Its roster (the permits in force on its start day) is taken once, with
-- this row, so a campaign restarted on a later day inspects the same permits.
CREATE TABLE inspection_campaigns (
    year         integer PRIMARY KEY,
    campaign_id  text        NOT NULL,  -- the workflow that opened it
    start_day    date        NOT NULL,
    roster_size  integer     NOT NULL,
    inspector    text        NOT NULL,
    opened_at    timestamptz NOT NULL DEFAULT now(),
    reported_at  timestamptz            -- the last time its report was written
);

-- One row per permit and year: the roster entry, then the assessment (kept before delivery, so a retried
-- or restarted delivery sends the same report), then what the permit's workflow answered.
CREATE TABLE inspections (
    year             integer     NOT NULL REFERENCES inspection_campaigns (year),
    stream_id        text        NOT NULL,
    district         text,
    enterprise_name  text,
    credit_code      text,
    permit_number    text,
    status           text        NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'assessed', 'delivered', 'closed')),
    outcome          text        CHECK (outcome IN ('clear', 'breach', 'not_assessed')),
    items            jsonb,                  -- the four InspectionItems of Art. 22
    breaches         text[]      NOT NULL DEFAULT '{}',
    inspector        text,
    campaign_id      text,
    assessed_at      timestamptz,
    delivered_at     timestamptz,
    delivery         text,                   -- the permit's answer (rectification ordered, due …)
    PRIMARY KEY (year, stream_id)            -- each permit inspected once a year
);
CREATE INDEX inspections_district_idx ON inspections (year, district, outcome);

-- Art. 19 / 26: violations found by a department within its remit (Art. 21), with the penalty decided.
-- Smuggling-type acts count for the annual inspection (Art. 22(4)) once customs has confirmed them.
CREATE TABLE violations (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code         text        NOT NULL,
    stream_id           text,                 -- the permit, when known
    district            text,
    act                 smallint    NOT NULL CHECK (act BETWEEN 1 AND 15),  -- Art. 19 (1)-(15)
    severity            text        NOT NULL CHECK (severity IN ('minor', 'major')),  -- major = 重大
    found_by            text        NOT NULL,  -- the department's actor code
    found_on            date        NOT NULL,
    description         text        NOT NULL CHECK (description <> ''),
    evidence_ref        text        NOT NULL CHECK (evidence_ref <> ''),
    penalty             text,                  -- Art. 26: the penalty decided, as the decision words it
    penalty_decided_on  date,
    confirmed_by        text,                  -- customs_gz / customs_hp, for smuggling-type acts
    confirmed_at        timestamptz,
    complaint_id        bigint,
    recorded_by         text        NOT NULL,  -- the principal's name, for the record
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((penalty IS NULL) = (penalty_decided_on IS NULL)),
    CHECK ((confirmed_by IS NULL) = (confirmed_at IS NULL))
);
CREATE INDEX violations_credit_code_idx ON violations (credit_code, found_on);

-- Art. 20: complaints by phone, e-mail, WeChat or web, recorded by whoever receives them, routed to the
-- enterprise's district, investigated and answered (or closed).
CREATE TABLE complaints (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel         text        NOT NULL CHECK (channel IN ('phone', 'email', 'wechat', 'web', 'letter', 'visit')),
    received_at     timestamptz NOT NULL,
    received_by     text        NOT NULL,  -- actor code of the receiving body
    complainant     text,                  -- NULL: anonymous
    contact         text,
    credit_code     text,                  -- the enterprise complained of, when known
    enterprise_name text,
    stream_id       text,
    district        text,                  -- where it is routed (the enterprise's district)
    summary         text        NOT NULL CHECK (summary <> ''),
    status          text        NOT NULL CHECK (status IN ('received', 'routed', 'investigating', 'answered', 'closed')),
    answer          text,
    violation_id    bigint REFERENCES violations (id),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX complaints_district_idx ON complaints (district, status);
CREATE INDEX complaints_credit_code_idx ON complaints (credit_code);
ALTER TABLE violations ADD FOREIGN KEY (complaint_id) REFERENCES complaints (id);

-- Every step of a complaint: who moved it, when, and why.
CREATE TABLE complaint_steps (
    complaint_id  bigint      NOT NULL REFERENCES complaints (id),
    seq           integer     NOT NULL,
    status        text        NOT NULL,
    actor         text        NOT NULL,
    note          text,
    at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (complaint_id, seq)
);

-- Art. 20-21: interviews (约谈) and spot inspections by the district or a department.
CREATE TABLE supervision_actions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN ('interview', 'spot_inspection')),
    credit_code   text        NOT NULL,
    stream_id     text,
    district      text,
    conducted_by  text        NOT NULL,  -- actor code
    conducted_on  date        NOT NULL,
    summary       text        NOT NULL CHECK (summary <> ''),
    findings      text[]      NOT NULL DEFAULT '{}',
    violation_id  bigint REFERENCES violations (id),
    recorded_by   text        NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX supervision_actions_credit_code_idx ON supervision_actions (credit_code, conducted_on);

-- Deadline oversight counts yellow and red cards over a period without reading every event.
CREATE INDEX events_cards_idx ON events (occurred_at) WHERE event_type IN ('DeadlineOverdue', 'DeadlineEscalated');
