-- a tenant (and a tenant + kb) filter returns exactly the rows the oracle assigns to it
SELECT 'partition differs from the oracle''s',
       coalesce(actual.tenant_id, oracle.tenant_id), coalesce(actual.kb_id, oracle.kb_id),
       format('filter returns %s rows, oracle assigns %s',
              coalesce(actual.n, 0), coalesce(oracle.n, 0))
  FROM (SELECT GROUPING(kb_id) AS lvl, tenant_id, kb_id, count(*) AS n
          FROM r
         GROUP BY GROUPING SETS ((tenant_id), (tenant_id, kb_id))) AS actual
  FULL JOIN (SELECT 0 AS lvl, k.tenant_id, k.kb_id, k.n
               FROM unnest({kb_tenants}, {kb_ids}, {kb_rows}) AS k (tenant_id, kb_id, n)
             UNION ALL
             SELECT 1, t.tenant_id, NULL, t.n
               FROM unnest({tenants}, {tenant_rows}) AS t (tenant_id, n)) AS oracle
    ON actual.lvl = oracle.lvl AND actual.tenant_id = oracle.tenant_id
   AND coalesce(actual.kb_id, '') = coalesce(oracle.kb_id, '')
 WHERE actual.n IS DISTINCT FROM oracle.n
