-- Art. 22(1)(2): what the annual inspection reads of a permit's year, kept beside the ledger, so that
-- `store.ledger.annual_summary` reads a handful of rows however many movements the year holds. Ingestion
-- keeps these tables in the transaction that books the movements, as it keeps ledger_stock and
-- ledger_activity; below, they are filled from the movements booked before this migration (the same
-- aggregate as `store.ledger.rebuild_summaries`). Years are counted in Guangzhou time (Asia/Shanghai).

-- Per permit, year, depot and lateness: counts and tonnes by kind, and the gaps the inspection counts.
CREATE TABLE ledger_summary (
    stream_id                     text          NOT NULL,
    year                          integer       NOT NULL,  -- of occurred_at, in Asia/Shanghai
    depot                         text          NOT NULL,
    -- floor((recorded_at - occurred_at - 1 microsecond) / 1 day): a row was recorded more than N days after
    -- it occurred exactly when late_days >= N, so late reports are counted for any threshold.
    late_days                     integer       NOT NULL,
    movements                     bigint        NOT NULL,
    supplies                      bigint        NOT NULL,
    supplied_t                    numeric(24,3) NOT NULL,
    receipts                      bigint        NOT NULL,
    received_t                    numeric(24,3) NOT NULL,
    transfers_out                 bigint        NOT NULL,
    transferred_out_t             numeric(24,3) NOT NULL,
    transfers_in                  bigint        NOT NULL,
    transferred_in_t              numeric(24,3) NOT NULL,
    supplies_without_meter        bigint        NOT NULL,
    supplies_without_declaration  bigint        NOT NULL,
    movements_without_vouchers    bigint        NOT NULL,
    PRIMARY KEY (stream_id, year, depot, late_days)
);

-- The vessels supplied in a year (distinct IMO numbers are not a sum).
CREATE TABLE ledger_summary_vessels (
    stream_id   text    NOT NULL,
    year        integer NOT NULL,
    vessel_imo  text    NOT NULL,
    PRIMARY KEY (stream_id, year, vessel_imo)
);

-- Each day (Asia/Shanghai) with a supply: its first and last. A quiet spell of at least a day runs from a
-- day's last supply to a later day's first, so these two are all of a day the quiet spells need.
CREATE TABLE ledger_supply_days (
    stream_id  text        NOT NULL,
    day        date        NOT NULL,
    first_at   timestamptz NOT NULL,
    last_at    timestamptz NOT NULL,
    PRIMARY KEY (stream_id, day)
);

-- Supplies without a mass-flow-meter quantity (Art. 6(3)), few by rule: the inspection names the first 20.
CREATE INDEX ledger_movements_unmetered_idx ON ledger_movements (stream_id, occurred_at, id)
    WHERE kind = 'supply' AND mass_flow_meter_t IS NULL;

INSERT INTO ledger_summary
SELECT stream_id, extract(year FROM occurred_at AT TIME ZONE 'Asia/Shanghai')::integer,
       depot,
       floor(((extract(epoch FROM recorded_at) - extract(epoch FROM occurred_at)) * 1000000 - 1) / 86400000000)::integer,
       count(*),
       count(*) FILTER (WHERE kind = 'supply'), coalesce(sum(quantity_t) FILTER (WHERE kind = 'supply'), 0),
       count(*) FILTER (WHERE kind = 'receipt'), coalesce(sum(quantity_t) FILTER (WHERE kind = 'receipt'), 0),
       count(*) FILTER (WHERE kind = 'transfer_out'), coalesce(sum(quantity_t) FILTER (WHERE kind = 'transfer_out'), 0),
       count(*) FILTER (WHERE kind = 'transfer_in'), coalesce(sum(quantity_t) FILTER (WHERE kind = 'transfer_in'), 0),
       count(*) FILTER (WHERE kind = 'supply' AND mass_flow_meter_t IS NULL),
       count(*) FILTER (WHERE kind = 'supply' AND customs_declaration_no IS NULL),
       count(*) FILTER (WHERE cardinality(vouchers) = 0)
FROM ledger_movements
GROUP BY 1, 2, 3, 4;

INSERT INTO ledger_summary_vessels
SELECT DISTINCT stream_id, extract(year FROM occurred_at AT TIME ZONE 'Asia/Shanghai')::integer, vessel_imo
FROM ledger_movements WHERE vessel_imo IS NOT NULL;

INSERT INTO ledger_supply_days
SELECT stream_id, (occurred_at AT TIME ZONE 'Asia/Shanghai')::date, min(occurred_at), max(occurred_at)
FROM ledger_movements WHERE kind = 'supply'
GROUP BY 1, 2;
