-- +goose Up
-- A request's extra fields hold up to 20 text values of 2000 characters
-- (model.Category), which JSON can escape to six bytes each: up to 240 KB,
-- beyond TEXT's 64 KB, so a valid submit failed with "data too long" (500).
ALTER TABLE requests MODIFY fields MEDIUMTEXT NOT NULL;

-- +goose Down
-- Fails (strict mode) while a row holds more than TEXT does.
ALTER TABLE requests MODIFY fields TEXT NOT NULL;
