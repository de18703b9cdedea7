-- every membership names a registered tenant
SELECT m.user_id, m.tenant_id, m.role
  FROM user_tenant_memberships m
 WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.tenant_id = m.tenant_id)
 ORDER BY 1, 2
