-- Benchmark query for bench/exec_sql.py: hourly averages per element and filter over
-- bench_measurements (100,000 rows on 2026-01-01; 50 elements x 4 filters x 24 hours = 4,800 rows).
-- The same file runs under all three programs, with the window as two named parameters:
--   runtime exec   binds them as libpq parameters ($1, $2);
--   psql -X -f     substitutes its variables of the same names, which the bench sets to quoted
--                  literals (-v window_start="'2026-01-01T00:00:00Z'");
--   psycopg        the bench rewrites the two names to %s and passes the values as parameters.
-- In all three Postgres receives untyped text and resolves it to timestamptz by the comparison with ts.
SELECT element_name,
       date_trunc('hour', ts) AS timestamp,
       filter,
       avg(value)             AS value
FROM bench_measurements
WHERE ts >= :window_start
  AND ts <  :window_end
GROUP BY element_name, date_trunc('hour', ts), filter
ORDER BY element_name, filter, timestamp;
