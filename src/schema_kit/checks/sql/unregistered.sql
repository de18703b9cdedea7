-- every row's tenant and (tenant, kb) are in the registry
SELECT DISTINCT 'row of an unregistered tenant/kb' AS problem, r.tbl, r.workspace,
       r.tenant_id, r.kb_id
  FROM r
 WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.tenant_id = r.tenant_id)
    OR NOT EXISTS (SELECT 1 FROM knowledge_bases k
                    WHERE k.tenant_id = r.tenant_id AND k.kb_id = r.kb_id)
