-- Installed extensions with version and schema.
SELECT e.extname AS key,
       jsonb_build_object('version', e.extversion, 'schema', n.nspname) AS detail
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname <> 'plpgsql'
