-- +goose Up
-- The admin statistics (store.RequestStatRows) read the requests created in
-- a window of at most a year, 30 days by default:
--   ... FROM requests r WHERE r.created_at >= ? AND r.created_at < ?
--   [AND r.station_id IN (the station's subtree)]
-- With no index on created_at the city-wide query read every row of the
-- table, and the subtree one every row its stations ever held (a range of
-- ix_requests_station on station_id alone).
--
-- * ix_requests_created (created_at): one range for the city.
-- * ix_requests_station_created (station_id, created_at): one range per
--   station of the subtree, each bounded by the window; the optimizer takes
--   ix_requests_created instead when the subtree is most of the city.
-- Neither covers the query (it reads names, status, rating from the row, and
-- a covering index would be rewritten on every status change): each row in
-- the window costs a primary key lookup, which is what the statistics need.
-- created_at never changes, so ix_requests_created is written once per
-- request, at its right-hand end; station_id changes only when a request
-- passes to another station, when ix_requests_station moves too.
ALTER TABLE requests
    ADD KEY ix_requests_created (created_at),
    ADD KEY ix_requests_station_created (station_id, created_at);

-- +goose Down
ALTER TABLE requests
    DROP KEY ix_requests_created,
    DROP KEY ix_requests_station_created;
