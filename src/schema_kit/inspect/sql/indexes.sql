-- Indexes with their full definition (method, columns, predicate) and validity.
SELECT n.nspname || '.' || ic.relname AS key,
       jsonb_build_object(
           'table', n.nspname || '.' || tc.relname,
           'definition', pg_get_indexdef(i.indexrelid),
           'valid', i.indisvalid
       ) AS detail
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = tc.oid AND d.deptype = 'e')
