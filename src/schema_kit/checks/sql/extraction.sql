-- extraction: every row's (tenant_id, kb_id) equals the oracle's parse of its workspace
WITH r AS (
{rows}
),
oracle (workspace, tenant_id, kb_id) AS (
  SELECT * FROM unnest({workspaces}, {tenants}, {kbs})
)
SELECT r.tbl, r.workspace, r.id, r.tenant_id, r.kb_id,
       oracle.tenant_id AS oracle_tenant, oracle.kb_id AS oracle_kb
  FROM r
  JOIN oracle ON oracle.workspace = r.workspace
 WHERE (r.tenant_id, r.kb_id) IS DISTINCT FROM (oracle.tenant_id, oracle.kb_id)
 ORDER BY 1, 2, 3
