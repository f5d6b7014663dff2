-- Runs once, on the first start of temporal-db (an empty data volume), as POSTGRES_USER in POSTGRES_DB.
-- The `temporal` database itself comes from POSTGRES_DB; the schemas from the temporal-schema job.
CREATE DATABASE temporal_visibility;
