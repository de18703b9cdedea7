-- Row-level security policies.
SELECT n.nspname || '.' || c.relname || '.' || pol.polname AS key,
       jsonb_build_object(
           'command', pol.polcmd::text,
           'permissive', pol.polpermissive,
           'roles', (SELECT jsonb_agg(CASE WHEN r = 0 THEN 'public' ELSE r::regrole::text END
                                      ORDER BY r)
                     FROM unnest(pol.polroles) AS r),
           'using', pg_get_expr(pol.polqual, pol.polrelid),
           'with_check', pg_get_expr(pol.polwithcheck, pol.polrelid)
       ) AS detail
FROM pg_policy pol
JOIN pg_class c ON c.oid = pol.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
