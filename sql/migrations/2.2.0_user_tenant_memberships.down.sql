-- Revert 2.2.0: drop has_tenant_access and user_tenant_memberships

DROP FUNCTION has_tenant_access(VARCHAR, VARCHAR, VARCHAR);
DROP TABLE user_tenant_memberships;
