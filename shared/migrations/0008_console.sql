-- The operator console's server-side sessions. The browser holds only a random session id in
-- an HttpOnly cookie; the row keeps its SHA-256 and the SHA-256 of the API token it was opened
-- with (as api_tokens stores it), so a session acts exactly as its token and dies with it.
CREATE TABLE console_sessions (
    id_hash      bytea       PRIMARY KEY CHECK (octet_length(id_hash) = 32),
    token_hash   bytea       NOT NULL CHECK (octet_length(token_hash) = 32),
    csrf_token   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- Names of the billing system's partners, locations and tariffs (id -> name), for pick lists.
CREATE TABLE reference_names (
    kind  text   NOT NULL CHECK (kind IN ('partner', 'location', 'tariff')),
    id    bigint NOT NULL,
    name  text   NOT NULL,
    PRIMARY KEY (kind, id)
);
