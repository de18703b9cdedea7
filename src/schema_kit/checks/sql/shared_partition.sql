-- distinct workspaces never share a (tenant_id, kb_id), and every row is in a partition
SELECT 'workspaces sharing a partition' AS problem, tenant_id, kb_id,
       string_agg(DISTINCT workspace, ' | ') AS detail
  FROM r
 GROUP BY tenant_id, kb_id
HAVING count(DISTINCT workspace) > 1
UNION ALL
SELECT 'row outside every partition', tenant_id, kb_id, workspace
  FROM r
 WHERE tenant_id IS NULL OR kb_id IS NULL
