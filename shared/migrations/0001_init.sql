-- Herald schema, version 1. The database name isolates one deployment.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Customers and leads: one table, told apart by kind, keyed by the billing system's id.
CREATE TABLE people (
    kind            text        NOT NULL CHECK (kind IN ('customer', 'lead')),
    id              bigint      NOT NULL,
    login           text        NOT NULL DEFAULT '',
    status          text        NOT NULL DEFAULT 'new'
                                CHECK (status IN ('new', 'active', 'inactive', 'blocked')),
    full_name       text        NOT NULL DEFAULT '',
    email           text        NOT NULL DEFAULT '',
    billing_email   text        NOT NULL DEFAULT '',
    phone           text        NOT NULL DEFAULT '',
    category        text        NOT NULL DEFAULT 'private'
                                CHECK (category IN ('private', 'company')),
    location_id     bigint,
    partner_id      bigint,
    billing_type    text        NOT NULL DEFAULT 'recurring'
                                CHECK (billing_type IN ('recurring', 'prepaid')),
    services        jsonb       NOT NULL DEFAULT '[]',
    -- Denormalised from services so that tariff and service filters use GIN indexes.
    tariff_ids      bigint[]    NOT NULL DEFAULT '{}',
    service_types   text[]      NOT NULL DEFAULT '{}',
    attributes      jsonb       NOT NULL DEFAULT '{}',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);
CREATE INDEX people_status ON people (kind, status);
CREATE INDEX people_partner ON people (kind, partner_id);
CREATE INDEX people_location ON people (kind, location_id);
CREATE INDEX people_tariffs ON people USING gin (tariff_ids);
CREATE INDEX people_service_types ON people USING gin (service_types);
CREATE INDEX people_login_trgm ON people USING gin (login gin_trgm_ops);
CREATE INDEX people_full_name_trgm ON people USING gin (full_name gin_trgm_ops);

-- Singleton settings documents (sms gateway, company info...), by name.
CREATE TABLE settings (
    name        text        PRIMARY KEY,
    value       jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE templates (
    id          bigserial   PRIMARY KEY,
    title       text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    channel     text        NOT NULL CHECK (channel IN ('sms', 'email', 'portal')),
    subject     text        NOT NULL DEFAULT '',
    body        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaigns (
    id                  bigserial   PRIMARY KEY,
    recipient_type      text        NOT NULL,
    filters             jsonb       NOT NULL,
    send_to             text        NOT NULL,
    request             jsonb       NOT NULL,
    subject             text        NOT NULL DEFAULT '',
    message             text        NOT NULL,
    template_id         bigint,
    status              text        NOT NULL DEFAULT 'new',
    status_before_removal text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    -- Resolution progress: people are expanded in id order, so the last id is a resume cursor.
    resolve_cursor      bigint,
    resolved_at         timestamptz,
    recipients_total    integer     NOT NULL DEFAULT 0,
    total               integer     NOT NULL DEFAULT 0,
    idempotency_key     text        UNIQUE,
    request_hash        text
);
CREATE INDEX campaigns_created ON campaigns (created_at DESC, id DESC);
CREATE INDEX campaigns_status ON campaigns (status, created_at DESC);

-- Transactional outbox: events committed with the rows that cause them, relayed to the broker.
CREATE TABLE outbox (
    id          bigserial   PRIMARY KEY,
    routing_key text        NOT NULL,
    body        bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The per-message ledger and log. The unique key makes resolution and redelivery idempotent;
-- id is the stable number handed to the gateway as its duplicate guard (stop_dup_id).
CREATE TABLE messages (
    id              bigserial   PRIMARY KEY,
    channel         text        NOT NULL CHECK (channel IN ('sms', 'email', 'portal')),
    type            text        NOT NULL DEFAULT 'message' CHECK (type IN ('message', 'test')),
    campaign_id     bigint      REFERENCES campaigns (id) ON DELETE CASCADE,
    recipient_kind  text,
    customer_id     bigint,
    recipient       text        NOT NULL,
    subject         text        NOT NULL DEFAULT '',
    text            text        NOT NULL,
    status          text        NOT NULL DEFAULT 'new'
                                CHECK (status IN ('new', 'sending', 'sent', 'error', 'expired',
                                                  'cancelled', 'skipped')),
    error           text,
    attempts        integer     NOT NULL DEFAULT 0,
    claimed_until   timestamptz,
    gateway_request text,
    gateway_answer  text,
    batch_id        text,
    added_at        timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX messages_ledger ON messages (campaign_id, customer_id, channel, recipient)
    WHERE campaign_id IS NOT NULL;
CREATE INDEX messages_pending ON messages (campaign_id) WHERE status IN ('new', 'sending');
CREATE INDEX messages_campaign_status ON messages (campaign_id, status);
CREATE INDEX messages_added ON messages (channel, added_at DESC, id DESC);
CREATE INDEX messages_customer ON messages (customer_id);
