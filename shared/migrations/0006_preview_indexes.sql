-- Preview counts that do not read the wide people rows.
--
-- Why: POST /campaigns/preview shows the exact number of matching people. Counted in
-- `people`, that reads every heap page holding a match: with 250,000 of 1,000,000 people
-- matching, the matches sit on every page, so the whole 340 MB table (wide rows: services
-- and attributes jsonb) is read, 170 - 430 ms. A narrower index does not help right after a
-- bulk load either: until VACUUM sets the visibility map, an index-only scan still visits
-- the heap for every entry.
--
-- Most previews filter only on low-cardinality columns (status, category, location,
-- partner, billing type, tariffs, services). This table keeps one row per distinct
-- combination of those columns with how many people have it; statement-level triggers keep
-- it up to date inside the writing transaction, so a count read from it is exact and
-- consistent with the reader's snapshot. shared/filters.py sends a count here when every
-- filter it has is one of these columns (the columns keep people's names and types, so the
-- same WHERE clause applies); any other filter (text search, ids) counts in people.

CREATE TABLE people_counts (
    kind            text        NOT NULL,
    status          text        NOT NULL,
    category        text        NOT NULL,
    location_id     bigint,
    partner_id      bigint,
    billing_type    text        NOT NULL,
    tariff_ids      bigint[]    NOT NULL,
    service_types   text[]      NOT NULL,
    members         bigint      NOT NULL,
    -- NULLS NOT DISTINCT: people without a location or partner form one group, as in GROUP BY.
    CONSTRAINT people_counts_key UNIQUE NULLS NOT DISTINCT
        (kind, status, category, location_id, partner_id, billing_type, tariff_ids,
         service_types)
);

-- Adds the people of new_rows and removes those of old_rows (whichever the event has).
-- Groups are upserted in key order, so two concurrent statements lock them in the same order.
CREATE FUNCTION people_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM people_counts;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO people_counts AS c
            (kind, status, category, location_id, partner_id, billing_type, tariff_ids,
             service_types, members)
        SELECT kind, status, category, location_id, partner_id, billing_type, tariff_ids,
               service_types, count(*)
          FROM new_rows
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
         ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT ON CONSTRAINT people_counts_key
            DO UPDATE SET members = c.members + EXCLUDED.members;
        -- An insert only adds: no group can drop to zero.
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO people_counts AS c
            (kind, status, category, location_id, partner_id, billing_type, tariff_ids,
             service_types, members)
        SELECT kind, status, category, location_id, partner_id, billing_type, tariff_ids,
               service_types, -count(*)
          FROM old_rows
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
         ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT ON CONSTRAINT people_counts_key
            DO UPDATE SET members = c.members + EXCLUDED.members;
    ELSE
        -- An update moves people between groups; most updates (names, phones, balances)
        -- move nobody, and then no group row is written (nor locked).
        INSERT INTO people_counts AS c
            (kind, status, category, location_id, partner_id, billing_type, tariff_ids,
             service_types, members)
        SELECT kind, status, category, location_id, partner_id, billing_type, tariff_ids,
               service_types, sum(delta)
          FROM (SELECT kind, status, category, location_id, partner_id, billing_type,
                       tariff_ids, service_types, 1 AS delta
                  FROM new_rows
                UNION ALL
                SELECT kind, status, category, location_id, partner_id, billing_type,
                       tariff_ids, service_types, -1
                  FROM old_rows) AS moved
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        HAVING sum(delta) <> 0
         ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT ON CONSTRAINT people_counts_key
            DO UPDATE SET members = c.members + EXCLUDED.members;
    END IF;
    -- Empty groups would only make the table grow with every combination ever seen.
    DELETE FROM people_counts WHERE members = 0;
    RETURN NULL;
END
$$;

-- One trigger per event: a trigger with transition tables can only have one event.
CREATE TRIGGER people_counts_insert AFTER INSERT ON people
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION people_counts_apply();
CREATE TRIGGER people_counts_update AFTER UPDATE ON people
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION people_counts_apply();
CREATE TRIGGER people_counts_delete AFTER DELETE ON people
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION people_counts_apply();
CREATE TRIGGER people_counts_truncate AFTER TRUNCATE ON people
    FOR EACH STATEMENT EXECUTE FUNCTION people_counts_apply();

-- The people already there (the triggers above hold off writers until this commits).
INSERT INTO people_counts
    (kind, status, category, location_id, partner_id, billing_type, tariff_ids, service_types,
     members)
SELECT kind, status, category, location_id, partner_id, billing_type, tariff_ids,
       service_types, count(*)
  FROM people
 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
