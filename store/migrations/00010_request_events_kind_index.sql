-- +goose Up
-- ix_request_events_kind (kind, created_at) served no query: the timeline
-- reads a request's events by ix_request_events_request, and the statistics
-- read the first acceptance and the resolution of each request by the same
-- index (store.RequestStatRows). Every event row paid for an entry in it;
-- a submit writes two events.
ALTER TABLE request_events DROP KEY ix_request_events_kind;

-- +goose Down
ALTER TABLE request_events ADD KEY ix_request_events_kind (kind, created_at);
