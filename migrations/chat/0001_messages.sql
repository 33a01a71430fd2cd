-- Chat messages of a broadcast's room. The author's username is kept with the message, so history
-- never joins across services.

CREATE TABLE chat.messages (
    message_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    broadcast_id  bigint NOT NULL,
    user_id       bigint NOT NULL,
    username      text NOT NULL,
    message       text NOT NULL CHECK (char_length(message) BETWEEN 1 AND 500),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- History is read newest first with a keyset on (created_at, message_id).
CREATE INDEX messages_history ON chat.messages (broadcast_id, created_at DESC, message_id DESC);

CREATE TABLE chat.message_likes (
    message_id  bigint NOT NULL REFERENCES chat.messages (message_id) ON DELETE CASCADE,
    user_id     bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, user_id)
);
