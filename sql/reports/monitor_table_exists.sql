-- Whether the monitoring step's alerts table exists in this store.
SELECT count(*) > 0 AS present
FROM information_schema.tables
WHERE table_name = 'monitor_alerts';
