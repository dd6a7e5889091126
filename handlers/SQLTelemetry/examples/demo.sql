-- Hourly averages per network element and metric, from the embedded demo database (SQLite).
-- TaskShim binds the window as parameters: :window_start and :window_end (RFC 3339 text,
-- end exclusive). Each row becomes one telemetry record.
SELECT element_name,
       :window_start          AS timestamp,
       filter,
       ROUND(AVG(value), 3)   AS value
FROM measurements
WHERE ts >= :window_start
  AND ts <  :window_end
GROUP BY element_name, filter
ORDER BY element_name, filter;
