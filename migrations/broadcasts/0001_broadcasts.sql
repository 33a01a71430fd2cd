-- Broadcasts: scheduled, live and archived. The owner's username is kept with the row, so listings
-- never join across services.

CREATE TABLE broadcasts.broadcasts (
    broadcast_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id             bigint NOT NULL,
    username            text NOT NULL,
    title               text NOT NULL,
    description         text NOT NULL DEFAULT '',
    start_at            timestamptz NOT NULL,
    end_at              timestamptz NOT NULL,
    artwork_url         text NOT NULL DEFAULT '',
    is_visible          boolean NOT NULL DEFAULT true,
    is_live             boolean NOT NULL DEFAULT false,
    went_live_at        timestamptz,
    ended_at            timestamptz,
    listener_peak_count bigint NOT NULL DEFAULT 0,
    like_count          bigint NOT NULL DEFAULT 0,
    duration_sec        bigint NOT NULL DEFAULT 0,
    recording_url       text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (end_at > start_at)
);

CREATE INDEX broadcasts_owner ON broadcasts.broadcasts (user_id, start_at);
