-- Delivery reports pushed by the gateway (BulkSMS), kept even when they arrive before the
-- logger has stored the batch id of the send they report on; applied when it has.
ALTER TABLE messages ADD COLUMN delivery_status text
    CHECK (delivery_status IN ('pending', 'delivered', 'failed', 'expired', 'unknown'));
ALTER TABLE messages ADD COLUMN delivery_code integer;
ALTER TABLE messages ADD COLUMN delivered_at timestamptz;
CREATE INDEX messages_batch ON messages (batch_id) WHERE batch_id IS NOT NULL;

CREATE TABLE delivery_reports (
    id              bigserial   PRIMARY KEY,
    batch_id        text        NOT NULL,
    msisdn          text        NOT NULL,
    status_code     integer     NOT NULL,
    delivery_status text        NOT NULL,
    completed_at    timestamptz,
    received_at     timestamptz NOT NULL DEFAULT now(),
    applied_at      timestamptz
);
CREATE INDEX delivery_reports_unapplied ON delivery_reports (batch_id) WHERE applied_at IS NULL;

-- Messages the broker could not deliver or we could not read, moved out of the dead-letter
-- queue by the logger so that operators can list and count them.
CREATE TABLE dead_letters (
    id              bigserial   PRIMARY KEY,
    source          text        NOT NULL,
    reason          text        NOT NULL,
    body            bytea       NOT NULL,
    headers         jsonb       NOT NULL DEFAULT '{}',
    received_at     timestamptz NOT NULL DEFAULT now()
);
