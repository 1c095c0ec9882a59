-- +goose Up
-- A station's bookable services (offerings), e.g. 心理咨询 on Tuesdays. station_id
-- names a station of issue 3's tree; it is deliberately not a foreign key.
CREATE TABLE offerings (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    station_id   BIGINT UNSIGNED NOT NULL,
    name         VARCHAR(64)     NOT NULL,
    category     VARCHAR(64)     NOT NULL,
    description  VARCHAR(1024)   NOT NULL DEFAULT '',
    duration_min INT             NOT NULL,
    active       TINYINT(1)      NOT NULL DEFAULT 1,
    created_by   BIGINT UNSIGNED NOT NULL,
    created_at   DATETIME(3)     NOT NULL,
    updated_at   DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    KEY ix_offerings_station (station_id, active, id),
    KEY ix_offerings_active (active, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Bookable time slots of an offering. taken counts the live bookings; the
-- conditional UPDATE taken = taken + 1 WHERE taken < capacity AND status =
-- 'open' settles every race for a place. live_key is 1 while the slot is open
-- and NULL once cancelled, so an offering has at most one open slot per start.
CREATE TABLE slots (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    offering_id  BIGINT UNSIGNED NOT NULL,
    station_id   BIGINT UNSIGNED NOT NULL,
    starts_at    DATETIME(3)     NOT NULL,
    ends_at      DATETIME(3)     NOT NULL,
    capacity     INT             NOT NULL,
    taken        INT             NOT NULL DEFAULT 0,
    status       VARCHAR(16)     NOT NULL DEFAULT 'open',
    live_key     TINYINT         NULL DEFAULT 1,
    cancel_note  VARCHAR(256)    NOT NULL DEFAULT '',
    created_by   BIGINT UNSIGNED NOT NULL,
    created_at   DATETIME(3)     NOT NULL,
    cancelled_at DATETIME(3)     NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_slots_offering_start (offering_id, starts_at, live_key),
    KEY ix_slots_offering_start (offering_id, status, starts_at, id),
    KEY ix_slots_station_start (station_id, starts_at),
    CONSTRAINT fk_slots_offering FOREIGN KEY (offering_id) REFERENCES offerings (id),
    CONSTRAINT ck_slots_taken CHECK (taken >= 0 AND taken <= capacity)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A resident's booking of a slot. active_key is 1 unless the booking is
-- cancelled (then NULL), so UNIQUE (slot_id, user_id, active_key) allows one
-- live booking per resident per slot and any number of cancelled ones.
-- remind_at is when the reminder is due (NULL: none); the reminder loop claims
-- a due booking by setting reminded_at in the transaction that queues the
-- booking_reminder notification.
CREATE TABLE bookings (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    slot_id      BIGINT UNSIGNED NOT NULL,
    offering_id  BIGINT UNSIGNED NOT NULL,
    station_id   BIGINT UNSIGNED NOT NULL,
    user_id      BIGINT UNSIGNED NOT NULL,
    status       VARCHAR(16)     NOT NULL,
    active_key   TINYINT         NULL DEFAULT 1,
    note         VARCHAR(512)    NOT NULL DEFAULT '',
    starts_at    DATETIME(3)     NOT NULL,
    ends_at      DATETIME(3)     NOT NULL,
    remind_at    DATETIME(3)     NULL,
    reminded_at  DATETIME(3)     NULL,
    cancelled_by VARCHAR(16)     NOT NULL DEFAULT '',
    cancel_note  VARCHAR(256)    NOT NULL DEFAULT '',
    cancelled_at DATETIME(3)     NULL,
    marked_by    BIGINT UNSIGNED NULL,
    marked_at    DATETIME(3)     NULL,
    created_at   DATETIME(3)     NOT NULL,
    updated_at   DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_bookings_live (slot_id, user_id, active_key),
    KEY ix_bookings_user (user_id, id),
    KEY ix_bookings_user_status (user_id, status, starts_at),
    KEY ix_bookings_station_start (station_id, starts_at, id),
    KEY ix_bookings_remind (reminded_at, remind_at),
    CONSTRAINT fk_bookings_slot FOREIGN KEY (slot_id) REFERENCES slots (id),
    CONSTRAINT fk_bookings_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Days a station is closed: weekly slot patterns skip them and single slots
-- cannot be created on them.
CREATE TABLE station_closed_dates (
    station_id BIGINT UNSIGNED NOT NULL,
    closed_on  DATE            NOT NULL,
    reason     VARCHAR(128)    NOT NULL DEFAULT '',
    created_by BIGINT UNSIGNED NOT NULL,
    created_at DATETIME(3)     NOT NULL,
    PRIMARY KEY (station_id, closed_on)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE station_closed_dates;
DROP TABLE bookings;
DROP TABLE slots;
DROP TABLE offerings;
