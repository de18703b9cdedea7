-- the registry holds exactly the baseline plus the tenants and kbs the writes introduced
SELECT 'tenant registered that no write introduced', NULL, NULL, t.tenant_id::text, NULL
  FROM tenants t
 WHERE NOT t.tenant_id::text = ANY ({tenants})
UNION ALL
SELECT 'kb registered that no write introduced', NULL, NULL, k.tenant_id::text, k.kb_id::text
  FROM knowledge_bases k
 WHERE (k.tenant_id::text, k.kb_id::text) NOT IN (SELECT * FROM unnest({kb_tenants}, {kb_ids}))
UNION ALL
SELECT 'tenant missing from the registry', NULL, NULL, expected.tenant_id, NULL
  FROM unnest({tenants}) AS expected (tenant_id)
 WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.tenant_id = expected.tenant_id)
UNION ALL
SELECT 'kb missing from the registry', NULL, NULL, expected.tenant_id, expected.kb_id
  FROM unnest({kb_tenants}, {kb_ids}) AS expected (tenant_id, kb_id)
 WHERE NOT EXISTS (SELECT 1 FROM knowledge_bases k
                    WHERE k.tenant_id = expected.tenant_id AND k.kb_id = expected.kb_id)
