-- Email and customer-portal channels: attachments, financial documents, portal inbox.

-- What a message carries besides its text: uploaded attachment ids and financial document ids.
ALTER TABLE messages ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN documents jsonb NOT NULL DEFAULT '[]';

CREATE TABLE attachments (
    id              bigserial   PRIMARY KEY,
    filename        text        NOT NULL,
    content_type    text        NOT NULL,
    size            integer     NOT NULL,
    data            bytea       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE documents (
    id              bigint      PRIMARY KEY,
    customer_id     bigint      NOT NULL,
    type            text        NOT NULL CHECK (type IN ('invoice', 'proforma_invoice', 'payment')),
    number          text        NOT NULL,
    date            date        NOT NULL,
    amount          numeric(14, 2) NOT NULL,
    status          text        NOT NULL DEFAULT '',
    filename        text        NOT NULL,
    pdf             bytea       NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_customer ON documents (customer_id, type, date DESC);

-- The customer portal inbox: one row per portal message, idempotent by the ledger's id.
CREATE TABLE portal_messages (
    id              bigserial   PRIMARY KEY,
    message_id      bigint      NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    customer_id     bigint      NOT NULL,
    subject         text        NOT NULL,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    read_at         timestamptz
);
CREATE INDEX portal_messages_customer ON portal_messages (customer_id, created_at DESC);
