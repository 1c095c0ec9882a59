-- +goose Up
CREATE TABLE users (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    openid      VARCHAR(64)     NOT NULL,
    unionid     VARCHAR(64)     NULL,
    nickname    VARCHAR(64)     NOT NULL DEFAULT '',
    avatar_url  VARCHAR(512)    NOT NULL DEFAULT '',
    -- AES-256-GCM(nonce || ciphertext) of the phone number, and its HMAC blind index.
    phone_enc   VARBINARY(128)  NULL,
    phone_index BINARY(32)      NULL,
    created_at  DATETIME(3)     NOT NULL,
    updated_at  DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_users_openid (openid),
    KEY ix_users_phone_index (phone_index)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A role with its scope: station_id for social_worker/station_admin, org_id for
-- org_admin (and a volunteer's organization); 0 when the role has no scope.
CREATE TABLE user_roles (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id    BIGINT UNSIGNED NOT NULL,
    role       VARCHAR(32)     NOT NULL,
    station_id BIGINT UNSIGNED NOT NULL DEFAULT 0,
    org_id     BIGINT UNSIGNED NOT NULL DEFAULT 0,
    created_at DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_user_roles (user_id, role, station_id, org_id),
    KEY ix_user_roles_station (station_id, role),
    KEY ix_user_roles_org (org_id, role),
    CONSTRAINT fk_user_roles_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Single-use invite codes; only the SHA-256 of a code is stored.
CREATE TABLE invites (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    code_hash  BINARY(32)      NOT NULL,
    role       VARCHAR(32)     NOT NULL,
    station_id BIGINT UNSIGNED NOT NULL DEFAULT 0,
    org_id     BIGINT UNSIGNED NOT NULL DEFAULT 0,
    created_by BIGINT UNSIGNED NOT NULL,
    expires_at DATETIME(3)     NOT NULL,
    used_by    BIGINT UNSIGNED NULL,
    used_at    DATETIME(3)     NULL,
    created_at DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_invites_code (code_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The first reply to a create sent with an Idempotency-Key.
CREATE TABLE idempotency_keys (
    user_id     BIGINT UNSIGNED NOT NULL,
    idem_key    VARCHAR(64)     NOT NULL,
    scope       VARCHAR(64)     NOT NULL,
    fingerprint BINARY(32)      NOT NULL,
    reply       MEDIUMBLOB      NULL,
    created_at  DATETIME(3)     NOT NULL,
    PRIMARY KEY (user_id, idem_key),
    KEY ix_idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE invites;
DROP TABLE user_roles;
DROP TABLE users;
