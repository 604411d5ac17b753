-- API tokens with a role and an optional partner scope. Only the SHA-256 of a token is kept:
-- tokens are 32 random bytes, so a fast hash cannot be brute-forced and needs no salt or KDF.
CREATE TABLE api_tokens (
    id            bigserial   PRIMARY KEY,
    name          text        NOT NULL DEFAULT '',
    role          text        NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    partner_id    bigint,
    token_hash    bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    -- The token's first characters, to tell tokens apart in a list (never enough to use one).
    prefix        text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

-- The partner a campaign belongs to (set from a partner-scoped token, or from filters naming
-- exactly one partner); NULL: a deployment-wide campaign, invisible to partner-scoped tokens.
ALTER TABLE campaigns ADD COLUMN partner_id bigint;
CREATE INDEX campaigns_partner ON campaigns (partner_id, created_at DESC)
    WHERE partner_id IS NOT NULL;
-- Partner-scoped message logs join each message to its person.
CREATE INDEX messages_person ON messages (recipient_kind, customer_id)
    WHERE customer_id IS NOT NULL;
