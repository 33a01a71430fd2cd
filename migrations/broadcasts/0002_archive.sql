-- The archive: no overlapping windows per owner (enforced here, so two concurrent creations cannot
-- both win), artwork stored re-encoded beside its broadcast, ad-hoc "go live now" broadcasts marked
-- (their window shrinks to what was streamed when they end), and indexes for the listings' keysets.

CREATE EXTENSION IF NOT EXISTS btree_gist;

ALTER TABLE broadcasts.broadcasts
    ADD COLUMN ad_hoc boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT broadcasts_no_overlap
        EXCLUDE USING gist (user_id WITH =, tstzrange(start_at, end_at) WITH &&);

CREATE TABLE broadcasts.artworks (
    broadcast_id bigint NOT NULL REFERENCES broadcasts.broadcasts ON DELETE CASCADE,
    artwork_id   text NOT NULL,
    content_type text NOT NULL,
    data         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (broadcast_id, artwork_id)
);

CREATE INDEX broadcasts_visible_start ON broadcasts.broadcasts (start_at, broadcast_id) WHERE is_visible;
CREATE INDEX broadcasts_live ON broadcasts.broadcasts (broadcast_id) WHERE is_live;
CREATE INDEX broadcasts_username ON broadcasts.broadcasts (username, start_at);
CREATE INDEX broadcasts_visible_end ON broadcasts.broadcasts (end_at) WHERE is_visible;
