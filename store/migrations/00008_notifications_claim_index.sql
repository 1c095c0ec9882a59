-- +goose Up
-- Claimed rows are found by push_state = 'sending' (ix_notifications_push:
-- only the rows in flight) and their claim token, so the claim token needs no
-- index of its own: every notification inserted paid for one.
ALTER TABLE notifications DROP KEY ix_notifications_claim;

-- +goose Down
ALTER TABLE notifications ADD KEY ix_notifications_claim (claim_token);
