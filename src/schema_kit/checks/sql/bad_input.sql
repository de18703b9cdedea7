-- bad_input: no row carries a workspace the contract refuses
WITH r AS (
{rows}
)
SELECT tbl, workspace, id, tenant_id, kb_id
  FROM r
 WHERE workspace = ANY ({refused})
 ORDER BY 1, 2, 3
