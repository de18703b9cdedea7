-- Relations (tables, views, sequences, matviews) outside system schemas and extensions.
SELECT n.nspname || '.' || c.relname AS key,
       jsonb_build_object(
           'kind', c.relkind::text,
           'persistence', c.relpersistence::text,
           'row_security', c.relrowsecurity,
           'force_row_security', c.relforcerowsecurity,
           'options', c.reloptions,
           'view', CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END
       ) AS detail
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
