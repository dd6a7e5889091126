-- Hourly averages per element and metric from a PostgreSQL table
--   measurements(element_name text, ts timestamptz, filter text, value double precision)
-- Run with DATABASE_URL=postgres://... runtime exec postgres-hourly.sql
-- :window_start and :window_end are bound parameters (never spliced into the SQL text).
SELECT element_name,
       date_trunc('hour', ts)  AS timestamp,
       filter,
       avg(value)              AS value
FROM measurements
WHERE ts >= :window_start
  AND ts <  :window_end
GROUP BY element_name, date_trunc('hour', ts), filter
ORDER BY element_name, filter;
