-- Columns with type, nullability, default and generation expression. The position is the
-- rank among live columns, so a dropped-and-re-added column compares by order, not attnum.
SELECT n.nspname || '.' || c.relname || '.' || a.attname AS key,
       jsonb_build_object(
           'position', rank() OVER (PARTITION BY c.oid ORDER BY a.attnum),
           'type', format_type(a.atttypid, a.atttypmod),
           'not_null', a.attnotnull,
           'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
           'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
           'generated_kind', NULLIF(a.attgenerated::text, ''),
           'identity', NULLIF(a.attidentity::text, ''),
           'collation', CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END
       ) AS detail
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
