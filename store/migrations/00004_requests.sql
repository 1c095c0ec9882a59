-- +goose Up
-- Residents' requests (诉求) and their dispatch state. station_* and org_*
-- name the current holder (denormalised so lists need no join); candidates is
-- the JSON array of matched station ids in dispatch order and candidate_pos
-- the index of the last one used; organizations the JSON [{id,name}] attached
-- at submit. queue_score orders a queue: urgent first, then accept_by.
-- Every update is conditional on version (and the state it expects).
-- The station, org and due indexes cover the queue reads (id, queue_score),
-- the sweep (status, accept_by) and auto-close (status = 'resolved').
CREATE TABLE requests (
    id                BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    resident_id       BIGINT UNSIGNED  NOT NULL,
    status            VARCHAR(16)      NOT NULL,
    category          VARCHAR(64)      NOT NULL,
    category_name     VARCHAR(64)      NOT NULL,
    description       VARCHAR(1000)    NOT NULL,
    address           VARCHAR(200)     NOT NULL DEFAULT '',
    lat               DOUBLE           NOT NULL,
    lng               DOUBLE           NOT NULL,
    urgency           VARCHAR(8)       NOT NULL,
    -- AES-256-GCM(nonce || ciphertext) of the contact phone.
    contact_phone_enc VARBINARY(128)   NULL,
    images            TEXT             NOT NULL,
    fields            TEXT             NOT NULL,
    station_id        BIGINT UNSIGNED  NOT NULL,
    station_name      VARCHAR(64)      NOT NULL,
    station_level     TINYINT UNSIGNED NOT NULL,
    org_id            BIGINT UNSIGNED  NOT NULL DEFAULT 0,
    org_name          VARCHAR(64)      NOT NULL DEFAULT '',
    organizations     TEXT             NOT NULL,
    candidates        TEXT             NOT NULL,
    candidate_pos     INT              NOT NULL DEFAULT 0,
    bounces           INT              NOT NULL DEFAULT 0,
    must_take         TINYINT(1)       NOT NULL DEFAULT 0,
    accept_by         DATETIME(3)      NOT NULL,
    queue_score       BIGINT           NOT NULL,
    worker_id         BIGINT UNSIGNED  NULL,
    accepted_at       DATETIME(3)      NULL,
    resolved_at       DATETIME(3)      NULL,
    summary           VARCHAR(1000)    NOT NULL DEFAULT '',
    service_minutes   INT              NOT NULL DEFAULT 0,
    rating            TINYINT          NULL,
    rating_comment    VARCHAR(500)     NOT NULL DEFAULT '',
    rated_at          DATETIME(3)      NULL,
    closed_at         DATETIME(3)      NULL,
    version           BIGINT UNSIGNED  NOT NULL DEFAULT 0,
    created_at        DATETIME(3)      NOT NULL,
    updated_at        DATETIME(3)      NOT NULL,
    PRIMARY KEY (id),
    KEY ix_requests_resident (resident_id, id),
    KEY ix_requests_worker (worker_id, id),
    KEY ix_requests_station (station_id, org_id, status, queue_score),
    KEY ix_requests_org (org_id, status, queue_score),
    KEY ix_requests_due (status, accept_by, queue_score)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The history of every request: one row per state change (from_status →
-- to_status, '' before the first) and per internal note. station_id/org_id
-- are the holder after the event. The timeline and the statistics read it.
CREATE TABLE request_events (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    request_id  BIGINT UNSIGNED NOT NULL,
    kind        VARCHAR(16)     NOT NULL,
    from_status VARCHAR(16)     NOT NULL DEFAULT '',
    to_status   VARCHAR(16)     NOT NULL DEFAULT '',
    actor_id    BIGINT UNSIGNED NOT NULL DEFAULT 0,
    actor_role  VARCHAR(32)     NOT NULL,
    station_id  BIGINT UNSIGNED NOT NULL DEFAULT 0,
    org_id      BIGINT UNSIGNED NOT NULL DEFAULT 0,
    note        VARCHAR(1000)   NOT NULL DEFAULT '',
    internal    TINYINT(1)      NOT NULL DEFAULT 0,
    created_at  DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    KEY ix_request_events_request (request_id, id),
    KEY ix_request_events_kind (kind, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE request_events;
DROP TABLE requests;
