-- Create user_tenant_memberships
--
-- RBAC: user_tenant_memberships (role owner > admin > editor > viewer) and
-- has_tenant_access(user, tenant, required_role).

CREATE TABLE user_tenant_memberships (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id VARCHAR(255) NOT NULL,
    tenant_id VARCHAR(255) NOT NULL,
    role VARCHAR(32) NOT NULL,
    permissions JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ DEFAULT now(),
    updated_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT user_tenant_memberships_pk PRIMARY KEY (id),
    CONSTRAINT user_tenant_memberships_tenant_fk FOREIGN KEY (tenant_id)
        REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    CONSTRAINT user_tenant_memberships_role_check
        CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    CONSTRAINT user_tenant_memberships_user_tenant_key UNIQUE (user_id, tenant_id)
);
CREATE INDEX idx_user_tenant_memberships_user ON user_tenant_memberships (user_id);
CREATE INDEX idx_user_tenant_memberships_tenant ON user_tenant_memberships (tenant_id);

CREATE FUNCTION has_tenant_access(
    p_user_id VARCHAR,
    p_tenant_id VARCHAR,
    p_required_role VARCHAR DEFAULT 'viewer'
)
RETURNS BOOLEAN
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_role VARCHAR(32);
    v_is_public BOOLEAN;
BEGIN
    SELECT m.role INTO v_role
    FROM user_tenant_memberships m
    WHERE m.user_id = p_user_id AND m.tenant_id = p_tenant_id;

    -- Behaviour as shipped in 3.0.0: roles rank owner 4, admin 3, editor 2,
    -- viewer 1 and anything else 0, so an unknown required role is always met.
    IF FOUND THEN
        RETURN (CASE v_role
                    WHEN 'owner' THEN 4
                    WHEN 'admin' THEN 3
                    WHEN 'editor' THEN 2
                    WHEN 'viewer' THEN 1
                    ELSE 0
                END)
            >= (CASE p_required_role
                    WHEN 'owner' THEN 4
                    WHEN 'admin' THEN 3
                    WHEN 'editor' THEN 2
                    WHEN 'viewer' THEN 1
                    ELSE 0
                END);
    END IF;

    -- No membership: a tenant marked public grants access whatever role was required.
    SELECT (t.metadata ->> 'is_public')::boolean INTO v_is_public
    FROM tenants t
    WHERE t.tenant_id = p_tenant_id;

    RETURN COALESCE(v_is_public, false);
END;
$$;
