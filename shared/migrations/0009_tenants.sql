-- Tenants and the audit trail (issue 13).

-- An uploaded file belongs to the partner of the token that uploaded it (NULL: to the
-- unscoped operators); a partner token can use only its partner's files.
ALTER TABLE attachments ADD COLUMN partner_id bigint;

-- A portal message is keyed by its recipient's kind as well as id: a lead and a customer
-- may share an id, and a lead's message must never show in that customer's inbox.
ALTER TABLE portal_messages ADD COLUMN recipient_kind text NOT NULL DEFAULT 'customer'
    CHECK (recipient_kind IN ('customer', 'lead'));
UPDATE portal_messages pm SET recipient_kind = m.recipient_kind
    FROM messages m WHERE m.id = pm.message_id AND m.recipient_kind = 'lead';
DROP INDEX portal_messages_customer;
CREATE INDEX portal_messages_recipient
    ON portal_messages (recipient_kind, customer_id, created_at DESC);

-- Who changed what, and when: settings, tokens, templates. Written in the transaction of the
-- change; token_id NULL is the bootstrap token.
CREATE TABLE audit_log (
    id              bigserial   PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    token_id        bigint,
    kind            text        NOT NULL,
    action          text        NOT NULL,
    object_id       text        NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_kind ON audit_log (kind, id DESC);
