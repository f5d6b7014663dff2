-- Art. 17: each permit's ledger of oil in, supplies to vessels, depot transfers and stock.
-- Sized for the national case (10,000 supplies a day, tens of millions of rows): rows arrive in batches
-- by binary COPY; nothing references `permits` by foreign key, because an RI check per copied row would
-- cost more than the COPY (ingest checks the permit once per batch, under its row lock).
CREATE TABLE ledger_movements (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- booking order; breaks ties in time
    stream_id              text          NOT NULL,
    voucher_no             text          NOT NULL,
    kind                   text          NOT NULL CHECK (kind IN ('receipt', 'supply', 'transfer_out', 'transfer_in')),
    occurred_at            timestamptz   NOT NULL,
    depot                  text          NOT NULL,
    counterpart_depot      text,
    quantity_t             numeric(14,3) NOT NULL CHECK (quantity_t > 0),
    -- The signed effect on the depot, derived here so it can never disagree with kind and quantity.
    delta_t                numeric(14,3) GENERATED ALWAYS AS (
                               CASE WHEN kind IN ('receipt', 'transfer_in') THEN quantity_t ELSE -quantity_t END
                           ) STORED,
    product                text          NOT NULL,
    vessel_imo             text,
    vessel_name            text,
    bdn_no                 text,
    customs_declaration_no text,
    mass_flow_meter_t      numeric(14,3) CHECK (mass_flow_meter_t >= 0),
    vouchers               text[]        NOT NULL DEFAULT '{}',
    batch_id               text          NOT NULL,
    batch_row              integer       NOT NULL,  -- the row's index in its batch, as refusals name it
    recorded_at            timestamptz   NOT NULL,
    UNIQUE (stream_id, voucher_no),  -- the duplicate check (and its index)
    CHECK ((kind = 'supply') = (vessel_imo IS NOT NULL AND bdn_no IS NOT NULL)),
    CHECK ((kind IN ('transfer_out', 'transfer_in')) = (counterpart_depot IS NOT NULL))
);
-- A permit's movements over a period: the annual summary, closing stock, the re-check of a late report.
CREATE INDEX ledger_movements_time_idx ON ledger_movements (stream_id, occurred_at);
-- Supplies only: quiet spells, and a permit's last supply before an instant (rebuilding ledger_activity).
CREATE INDEX ledger_movements_supply_idx ON ledger_movements (stream_id, occurred_at) WHERE kind = 'supply';

-- Each depot's balance, kept in the transaction that books the movements (never below zero).
CREATE TABLE ledger_stock (
    stream_id   text          NOT NULL,
    depot       text          NOT NULL,
    balance_t   numeric(14,3) NOT NULL CHECK (balance_t >= 0),
    updated_at  timestamptz   NOT NULL,
    PRIMARY KEY (stream_id, depot)
);

-- One row per permit: what the dormancy timer asks (Art. 23) without touching ledger_movements.
CREATE TABLE ledger_activity (
    stream_id        text PRIMARY KEY,
    last_supply_at   timestamptz,  -- the latest supply's occurred_at (NULL: no supply yet)
    supplies_total   bigint      NOT NULL,
    movements_total  bigint      NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX ledger_activity_last_supply_idx ON ledger_activity (last_supply_at);

-- Batches applied, by the client's idempotency key: a retried batch returns this result, once applied.
CREATE TABLE ledger_batches (
    batch_id               text PRIMARY KEY,
    stream_id              text        NOT NULL,
    fingerprint            text        NOT NULL,  -- sha256 of the rows: the same key with other rows is refused
    rows                   integer     NOT NULL,
    supplies               integer     NOT NULL,
    last_supply_at         timestamptz,           -- the permit's, after this batch
    resumed_from_dormancy  boolean     NOT NULL,
    accepted_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_batches_stream_idx ON ledger_batches (stream_id, accepted_at);

-- Art. 23 dormancy, set by the permit's workflow through its projection (never by ledger ingestion).
ALTER TABLE permits
    ADD COLUMN dormant boolean NOT NULL DEFAULT false,
    ADD COLUMN dormant_since timestamptz;
