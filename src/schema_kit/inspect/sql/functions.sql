-- Functions and procedures by signature; the body is compared by hash.
SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS key,
       jsonb_build_object(
           'kind', p.prokind::text,
           'returns', pg_get_function_result(p.oid),
           'arguments', pg_get_function_arguments(p.oid),
           'language', l.lanname,
           'volatility', p.provolatile::text,
           'security_definer', p.prosecdef,
           'strict', p.proisstrict,
           'config', p.proconfig,
           'body_sha256', encode(sha256(convert_to(p.prosrc, 'UTF8')), 'hex')
       ) AS detail
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
