-- +goose Up
-- The admin statistics (store.ServiceStats) count the bookings whose slot
-- starts in a window of at most a year, 30 days by default, for the whole
-- city:
--   ... FROM bookings b WHERE b.starts_at >= ? AND b.starts_at < ?
-- No index begins with starts_at: the city-wide count read every booking
-- ever made (EXPLAIN: a full scan of ix_bookings_user_status, or joined to
-- the stations every ix_bookings_station_start entry of each station, the
-- window bounding nothing). A station subtree is already served, one
-- range per station, by ix_bookings_station_start (station_id, starts_at, id).
--
-- * ix_bookings_start (starts_at): one range for the city. Not covering
--   (the status is read from the row, as ix_requests_created does for
--   requests): a booking's start never changes, so the entry is written
--   once, when the booking is made, never on cancel, attend or no-show.
ALTER TABLE bookings
    ADD KEY ix_bookings_start (starts_at);

-- +goose Down
ALTER TABLE bookings
    DROP KEY ix_bookings_start;
