-- Profile pictures live beside the account (one small re-encoded image each), so every auth replica
-- serves them without shared disk; the URL is derived from the username when a user is read.
CREATE TABLE auth.profile_pictures (
    user_id       bigint PRIMARY KEY REFERENCES auth.users (user_id),
    content_type  text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    data          bytea NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The URL is computed from the picture's presence; a stored copy would go stale on a rename.
ALTER TABLE auth.users DROP COLUMN profile_picture_url;

