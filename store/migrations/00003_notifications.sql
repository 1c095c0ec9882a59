-- +goose Up
-- The outbox and the in-app inbox in one table: every notification is an
-- in-app message; push_state tracks its delivery as a WeChat subscribe message.
CREATE TABLE notifications (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id         BIGINT UNSIGNED NOT NULL,
    kind            VARCHAR(48)     NOT NULL,
    title           VARCHAR(128)    NOT NULL,
    body            VARCHAR(1024)   NOT NULL,
    data            TEXT            NOT NULL,
    page            VARCHAR(256)    NOT NULL DEFAULT '',
    ref_type        VARCHAR(32)     NOT NULL DEFAULT '',
    ref_id          BIGINT UNSIGNED NOT NULL DEFAULT 0,
    read_at         DATETIME(3)     NULL,
    push_state      VARCHAR(16)     NOT NULL DEFAULT 'pending',
    attempts        INT             NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(3)     NOT NULL,
    last_error      VARCHAR(512)    NOT NULL DEFAULT '',
    sent_at         DATETIME(3)     NULL,
    created_at      DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    KEY ix_notifications_user (user_id, id),
    KEY ix_notifications_push (push_state, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE notifications;
