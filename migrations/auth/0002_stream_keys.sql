-- Stream keys: the password Icecast source clients send (Basic auth, with the username). Only a hash is
-- stored; rotating replaces it.

CREATE TABLE auth.stream_keys (
    user_id     bigint PRIMARY KEY REFERENCES auth.users (user_id),
    key_hash    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
