-- +goose Up
-- A registered volunteer: one per user. Real name and phone are AES-256-GCM
-- (nonce || ciphertext) with an HMAC blind index on the phone. org_id is the
-- organization the volunteer belongs to (0: none); no foreign key, stations and
-- organizations live in their own migration.
CREATE TABLE volunteers (
    user_id       BIGINT UNSIGNED NOT NULL,
    real_name_enc VARBINARY(160)  NOT NULL,
    phone_enc     VARBINARY(128)  NOT NULL,
    phone_index   BINARY(32)      NOT NULL,
    skills        TEXT            NOT NULL,
    org_id        BIGINT UNSIGNED NOT NULL DEFAULT 0,
    created_at    DATETIME(3)     NOT NULL,
    updated_at    DATETIME(3)     NOT NULL,
    PRIMARY KEY (user_id),
    KEY ix_volunteers_org (org_id, user_id),
    KEY ix_volunteers_phone (phone_index),
    CONSTRAINT fk_volunteers_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- An activity published by a station (station_id) or an organization (org_id).
-- confirmed counts the confirmed claims; the conditional UPDATE
-- "confirmed = confirmed + 1 WHERE confirmed < capacity" keeps it within capacity.
CREATE TABLE activities (
    id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    title            VARCHAR(64)     NOT NULL,
    description      TEXT            NOT NULL,
    category         VARCHAR(64)     NOT NULL,
    station_id       BIGINT UNSIGNED NOT NULL DEFAULT 0,
    org_id           BIGINT UNSIGNED NOT NULL DEFAULT 0,
    lat              DOUBLE          NOT NULL,
    lng              DOUBLE          NOT NULL,
    address          VARCHAR(256)    NOT NULL,
    starts_at        DATETIME(3)     NOT NULL,
    ends_at          DATETIME(3)     NOT NULL,
    signup_deadline  DATETIME(3)     NOT NULL,
    capacity         INT UNSIGNED    NOT NULL,
    confirmed        INT UNSIGNED    NOT NULL DEFAULT 0,
    waitlist         TINYINT(1)      NOT NULL DEFAULT 0,
    credited_minutes INT UNSIGNED    NOT NULL,
    status           VARCHAR(16)     NOT NULL DEFAULT 'published',
    cancel_reason    VARCHAR(256)    NOT NULL DEFAULT '',
    created_by       BIGINT UNSIGNED NOT NULL,
    created_at       DATETIME(3)     NOT NULL,
    updated_at       DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    -- Upcoming activities by start time (the list without a location).
    KEY ix_activities_time (status, starts_at, id),
    -- Upcoming activities in a bounding box (the list near a location).
    KEY ix_activities_box (status, ends_at, lat, lng),
    KEY ix_activities_station (station_id, starts_at),
    KEY ix_activities_org (org_id, starts_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A volunteer's claim of a place. live is 1 while the claim stands and NULL
-- once cancelled: the unique key allows one live claim per volunteer and
-- activity while keeping cancelled claims as history (NULLs never collide).
-- The waitlist is served in id order (arrival order: a claim row is inserted
-- while its transaction holds the activity row).
CREATE TABLE activity_claims (
    id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    activity_id        BIGINT UNSIGNED NOT NULL,
    volunteer_id       BIGINT UNSIGNED NOT NULL,
    status             VARCHAR(16)     NOT NULL,
    live               TINYINT(1)      NULL DEFAULT 1,
    checked_in_at      DATETIME(3)     NULL,
    checkin_method     VARCHAR(16)     NOT NULL DEFAULT '',
    checked_out_at     DATETIME(3)     NULL,
    credited_minutes   INT             NOT NULL DEFAULT 0,
    minutes_checked_by BIGINT UNSIGNED NULL,
    minutes_checked_at DATETIME(3)     NULL,
    created_at         DATETIME(3)     NOT NULL,
    updated_at         DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_claims_live (activity_id, volunteer_id, live),
    KEY ix_claims_queue (activity_id, status, id),
    KEY ix_claims_volunteer (volunteer_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The hours ledger, append-only: every credit is a row. kind 'served' is the
-- check-out credit; kind 'correction' is an organizer's correction, minutes
-- being the difference (to_minutes - from_minutes), with who and why.
CREATE TABLE volunteer_hours (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    volunteer_id BIGINT UNSIGNED NOT NULL,
    activity_id  BIGINT UNSIGNED NOT NULL,
    claim_id     BIGINT UNSIGNED NOT NULL,
    kind         VARCHAR(16)     NOT NULL,
    minutes      INT             NOT NULL,
    from_minutes INT             NOT NULL DEFAULT 0,
    to_minutes   INT             NOT NULL DEFAULT 0,
    reason       VARCHAR(256)    NOT NULL DEFAULT '',
    recorded_by  BIGINT UNSIGNED NOT NULL,
    created_at   DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    KEY ix_hours_volunteer (volunteer_id, id),
    KEY ix_hours_activity (activity_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE volunteer_hours;
DROP TABLE activity_claims;
DROP TABLE activities;
DROP TABLE volunteers;
