-- Table constraints (primary, unique, foreign, check, exclusion) by table and name.
-- NOT NULL constraints (contype 'n', catalogued from PostgreSQL 18) are already in columns.
SELECT n.nspname || '.' || c.relname || '.' || con.conname AS key,
       jsonb_build_object(
           'type', con.contype::text,
           'definition', pg_get_constraintdef(con.oid),
           'deferrable', con.condeferrable,
           'validated', con.convalidated
       ) AS detail
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype <> 'n'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
