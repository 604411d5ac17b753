-- Shared rate limits (GCRA): one row per gateway, holding the theoretical arrival time of the
-- next request. Every sender process reserves its send slots here, so the limit is global.
CREATE TABLE rate_limits (
    name    text        PRIMARY KEY,
    tat     timestamptz NOT NULL DEFAULT now()
);
