-- User triggers with their definition and whether they are enabled.
SELECT n.nspname || '.' || c.relname || '.' || t.tgname AS key,
       jsonb_build_object(
           'definition', pg_get_triggerdef(t.oid),
           'enabled', t.tgenabled::text
       ) AS detail
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
