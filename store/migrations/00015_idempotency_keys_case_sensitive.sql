-- +goose Up
-- An Idempotency-Key is an opaque string (1–64 visible ASCII characters,
-- api.idempotency): two keys are the same only byte for byte. Under the
-- table's utf8mb4_unicode_ci collation "Retry-1" and "retry-1" were one
-- primary key, so a client's second create was refused as a reused key (or,
-- with the same body, given the other create's reply). ascii_bin compares
-- bytes, and compares them faster.
ALTER TABLE idempotency_keys
    MODIFY idem_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

-- +goose Down
-- Fails while two keys of one user differ only in case.
ALTER TABLE idempotency_keys
    MODIFY idem_key VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL;
