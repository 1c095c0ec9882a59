-- +goose Up
-- Delivery of the outbox (issue 7). A sender claims due rows by setting
-- push_state='sending' with its claim_token and a lease (claimed_until); a
-- row whose lease ran out (its replica died mid-send) is swept back to
-- 'pending'. template_id and grant_held record the one-time subscribe grant a
-- row reserved at claim time, so a retry does not take a second one and a row
-- that ends unsent gives it back. skip_reason says why a row stayed in-app
-- only: no_template, no_grant, refused or no_openid.
ALTER TABLE notifications
    ADD COLUMN template_id   VARCHAR(128) NOT NULL DEFAULT '',
    ADD COLUMN grant_held    TINYINT(1)   NOT NULL DEFAULT 0,
    ADD COLUMN skip_reason   VARCHAR(32)  NOT NULL DEFAULT '',
    ADD COLUMN claim_token   VARCHAR(32)  NULL,
    ADD COLUMN claimed_until DATETIME(3)  NULL,
    ADD KEY ix_notifications_claim (claim_token),
    ADD KEY ix_notifications_unread (user_id, read_at);

-- One-time subscribe-message grants a user accepted in the mini-program
-- (wx.requestSubscribeMessage): each allows one message of that template.
CREATE TABLE subscribe_grants (
    user_id     BIGINT UNSIGNED NOT NULL,
    template_id VARCHAR(128)    NOT NULL,
    remaining   INT             NOT NULL DEFAULT 0,
    updated_at  DATETIME(3)     NOT NULL,
    PRIMARY KEY (user_id, template_id),
    CONSTRAINT fk_subscribe_grants_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE subscribe_grants;
ALTER TABLE notifications
    DROP KEY ix_notifications_unread,
    DROP KEY ix_notifications_claim,
    DROP COLUMN claimed_until,
    DROP COLUMN claim_token,
    DROP COLUMN skip_reason,
    DROP COLUMN grant_held,
    DROP COLUMN template_id;
