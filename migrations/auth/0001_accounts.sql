-- Accounts, roles and permissions, as in the original LiveStreamer, plus single-use email tokens.

CREATE TABLE auth.roles (
    role_id   smallint PRIMARY KEY,
    name      text NOT NULL UNIQUE
);

CREATE TABLE auth.role_permissions (
    role_id   smallint NOT NULL REFERENCES auth.roles (role_id),
    resource  text NOT NULL,
    action    text NOT NULL CHECK (action IN ('create', 'read', 'update', 'delete')),
    PRIMARY KEY (role_id, resource, action)
);

INSERT INTO auth.roles (role_id, name) VALUES (1, 'superadmin'), (2, 'streamer');

-- The superadmin may do everything to everything.
INSERT INTO auth.role_permissions (role_id, resource, action)
SELECT 1, resource, action
FROM unnest(ARRAY['own_user_account', 'any_user_account', 'own_broadcast', 'any_broadcast',
                  'stream_like', 'own_audio_stream', 'any_audio_stream', 'own_chat_message',
                  'any_chat_message']) AS resource,
     unnest(ARRAY['create', 'read', 'update', 'delete']) AS action;

-- A streamer manages their own account, broadcasts, audio and messages, and likes streams.
INSERT INTO auth.role_permissions (role_id, resource, action) VALUES
    (2, 'own_user_account', 'read'), (2, 'own_user_account', 'update'), (2, 'own_user_account', 'delete'),
    (2, 'own_broadcast', 'create'), (2, 'own_broadcast', 'read'), (2, 'own_broadcast', 'update'),
    (2, 'own_broadcast', 'delete'),
    (2, 'stream_like', 'create'),
    (2, 'own_audio_stream', 'create'), (2, 'own_audio_stream', 'read'),
    (2, 'own_chat_message', 'create'), (2, 'own_chat_message', 'read'), (2, 'own_chat_message', 'delete');

CREATE TABLE auth.users (
    user_id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username            text NOT NULL,
    email               text NOT NULL,
    password_hash       text NOT NULL,
    display_name        text NOT NULL DEFAULT '',
    about               text NOT NULL DEFAULT '',
    website_url         text NOT NULL DEFAULT '',
    profile_picture_url text NOT NULL DEFAULT '',
    role_id             smallint NOT NULL REFERENCES auth.roles (role_id),
    is_email_confirmed  boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_login_at       timestamptz,
    deleted_at          timestamptz
);

-- Names and addresses stay reserved after a soft delete, and compare without case.
CREATE UNIQUE INDEX users_username_key ON auth.users (lower(username));
CREATE UNIQUE INDEX users_email_key ON auth.users (lower(email));

-- Confirmation and reset tokens: only a hash is stored; each is used once and expires.
CREATE TABLE auth.email_tokens (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES auth.users (user_id),
    purpose     text NOT NULL CHECK (purpose IN ('confirm_email', 'reset_password')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

CREATE INDEX email_tokens_user ON auth.email_tokens (user_id, purpose);
