-- +goose Up
-- The service catalogue: concrete services (categories) grouped in five areas.
-- fields is a JSON array of model.CategoryField (Open311-style typed fields).
CREATE TABLE categories (
    code        VARCHAR(64)     NOT NULL,
    name        VARCHAR(64)     NOT NULL,
    area        VARCHAR(32)     NOT NULL,
    description VARCHAR(500)    NOT NULL DEFAULT '',
    fields      TEXT            NOT NULL,
    sort_order  INT             NOT NULL DEFAULT 0,
    active      TINYINT(1)      NOT NULL DEFAULT 1,
    created_at  DATETIME(3)     NOT NULL,
    updated_at  DATETIME(3)     NOT NULL,
    PRIMARY KEY (code),
    KEY ix_categories_area (area, sort_order)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The station tree: level 1 city general station (no parent), level 2
-- township/street stations, level 3 village/community points.
-- opening_hours is a JSON array of model.OpeningPeriod. closed is the
-- admin-set "temporarily closed" flag (暂停服务): the matcher skips it.
-- city_guard makes a second level-1 station a duplicate key.
CREATE TABLE stations (
    id             BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    parent_id      BIGINT UNSIGNED  NULL,
    level          TINYINT UNSIGNED NOT NULL,
    name           VARCHAR(64)      NOT NULL,
    address        VARCHAR(200)     NOT NULL DEFAULT '',
    phone          VARCHAR(32)      NOT NULL DEFAULT '',
    lat            DOUBLE           NOT NULL,
    lng            DOUBLE           NOT NULL,
    radius_m       INT              NOT NULL,
    opening_hours  TEXT             NOT NULL,
    daily_capacity INT              NOT NULL DEFAULT 0,
    closed         TINYINT(1)       NOT NULL DEFAULT 0,
    closed_reason  VARCHAR(200)     NOT NULL DEFAULT '',
    city_guard     TINYINT AS (CASE WHEN level = 1 THEN 1 END) STORED,
    created_at     DATETIME(3)      NOT NULL,
    updated_at     DATETIME(3)      NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_stations_name (name),
    UNIQUE KEY uq_stations_city (city_guard),
    KEY ix_stations_parent (parent_id),
    CONSTRAINT fk_stations_parent FOREIGN KEY (parent_id) REFERENCES stations (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE station_categories (
    station_id    BIGINT UNSIGNED NOT NULL,
    category_code VARCHAR(64)     NOT NULL,
    PRIMARY KEY (station_id, category_code),
    KEY ix_station_categories_code (category_code),
    CONSTRAINT fk_station_categories_station FOREIGN KEY (station_id) REFERENCES stations (id),
    CONSTRAINT fk_station_categories_code FOREIGN KEY (category_code) REFERENCES categories (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Social organizations (社会组织). contact_phone is the organization's public
-- service line, not personal data. An inactive organization is not matched.
CREATE TABLE organizations (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name          VARCHAR(64)     NOT NULL,
    description   VARCHAR(500)    NOT NULL DEFAULT '',
    address       VARCHAR(200)    NOT NULL DEFAULT '',
    contact_phone VARCHAR(32)     NOT NULL DEFAULT '',
    lat           DOUBLE          NOT NULL,
    lng           DOUBLE          NOT NULL,
    active        TINYINT(1)      NOT NULL DEFAULT 1,
    created_at    DATETIME(3)     NOT NULL,
    updated_at    DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_organizations_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE organization_categories (
    org_id        BIGINT UNSIGNED NOT NULL,
    category_code VARCHAR(64)     NOT NULL,
    PRIMARY KEY (org_id, category_code),
    KEY ix_organization_categories_code (category_code),
    CONSTRAINT fk_organization_categories_org FOREIGN KEY (org_id) REFERENCES organizations (id),
    CONSTRAINT fk_organization_categories_code FOREIGN KEY (category_code) REFERENCES categories (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE organization_categories;
DROP TABLE organizations;
DROP TABLE station_categories;
DROP TABLE stations;
DROP TABLE categories;
