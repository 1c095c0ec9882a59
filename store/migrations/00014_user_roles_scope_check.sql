-- +goose Up
-- A role is held at a station or at an organization (or neither, for the
-- city admin and volunteers), never at both: service.Invites and the seeds
-- already keep to it. With the unique (user_id, role, station_id, org_id)
-- index the check makes one role held at most once per user and holder, so
-- a notice to the holders of a single role at a station or organization
-- needs no de-duplication (see store staffRoles).
ALTER TABLE user_roles
    ADD CONSTRAINT ck_user_roles_one_holder CHECK (station_id = 0 OR org_id = 0);

-- +goose Down
ALTER TABLE user_roles
    DROP CONSTRAINT ck_user_roles_one_holder;
