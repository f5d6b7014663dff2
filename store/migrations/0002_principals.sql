-- Who may call the gateway: the bodies of Art. 3 (one district per district-government principal),
-- applicant enterprises (by credit code) and operators. A bearer token is stored only as its sha256;
-- the plaintext is shown once, when the principal is created.
CREATE TABLE principals (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('agency', 'enterprise', 'operator')),
    body         text        NOT NULL,  -- Body code: 'commerce', 'district', …, 'enterprise', 'operator'
    district     text,                  -- district governments only: the district they act for
    credit_code  text,                  -- enterprises only: the applicant they are
    name         text        NOT NULL CHECK (name <> ''),
    token_hash   text        NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CHECK (CASE kind
        WHEN 'enterprise' THEN body = 'enterprise' AND credit_code IS NOT NULL AND district IS NULL
        WHEN 'operator' THEN body = 'operator' AND credit_code IS NULL AND district IS NULL
        ELSE body NOT IN ('enterprise', 'operator', 'system') AND credit_code IS NULL
             AND (body = 'district') = (district IS NOT NULL)
    END)
);

-- Idempotency-Key of the gateway's POSTs, per principal: one key names one request (its fingerprint).
-- Decisions are Temporal updates, deduplicated by Temporal under an update id derived from the key;
-- only answers Temporal does not keep (a started application) are stored here.
CREATE TABLE idempotency_keys (
    principal_id bigint      NOT NULL REFERENCES principals (id),
    key          text        NOT NULL,
    fingerprint  text        NOT NULL,  -- sha256 of method, path and canonical body
    status_code  integer,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
