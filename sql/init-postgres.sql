-- Complete schema at version 3.0.0 in one script (same objects as the migration chain)
-- version: 3.0.0
--
-- Run with: psql -v vector_dim=1024 -f init-postgres.sql
-- No BEGIN/COMMIT: wrap it in a transaction (psql --single-transaction) if wanted.
-- It records the versions it installs in schema_kit_migrations, the harness's bookkeeping.

CREATE TABLE IF NOT EXISTS schema_kit_migrations (
    version VARCHAR(32) PRIMARY KEY,
    description TEXT NOT NULL,
    checksum CHAR(64),
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    execution_ms INTEGER
);

CREATE EXTENSION IF NOT EXISTS vector;

-- LIGHTRAG_* data tables; tenant_id and kb_id are generated from workspace (2.0.0).

CREATE TABLE LIGHTRAG_DOC_FULL (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    doc_name VARCHAR(1024),
    content TEXT,
    meta JSONB,
    create_time TIMESTAMP(0),
    update_time TIMESTAMP(0),
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED,
    CONSTRAINT lightrag_doc_full_pk PRIMARY KEY (workspace, id)
);

CREATE TABLE LIGHTRAG_DOC_CHUNKS (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    full_doc_id VARCHAR(256),
    chunk_order_index INTEGER,
    tokens INTEGER,
    content TEXT,
    file_path TEXT,
    llm_cache_list JSONB DEFAULT '[]'::jsonb,
    create_time TIMESTAMP(0) WITH TIME ZONE,
    update_time TIMESTAMP(0) WITH TIME ZONE,
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED,
    CONSTRAINT lightrag_doc_chunks_pk PRIMARY KEY (workspace, id)
);

CREATE TABLE LIGHTRAG_VDB_CHUNKS (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    full_doc_id VARCHAR(256),
    chunk_order_index INTEGER,
    tokens INTEGER,
    content TEXT,
    file_path TEXT,
    llm_cache_list JSONB DEFAULT '[]'::jsonb,
    content_vector VECTOR(:vector_dim),
    create_time TIMESTAMP(0) WITH TIME ZONE,
    update_time TIMESTAMP(0) WITH TIME ZONE,
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED,
    CONSTRAINT lightrag_vdb_chunks_pk PRIMARY KEY (workspace, id)
);

CREATE TABLE LIGHTRAG_VDB_ENTITY (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    entity_name VARCHAR(512),
    content TEXT,
    content_vector VECTOR(:vector_dim),
    create_time TIMESTAMP(0) WITH TIME ZONE,
    update_time TIMESTAMP(0) WITH TIME ZONE,
    chunk_ids VARCHAR(255)[],
    file_path TEXT,
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED,
    CONSTRAINT lightrag_vdb_entity_pk PRIMARY KEY (workspace, id)
);

CREATE TABLE LIGHTRAG_VDB_RELATION (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    source_id VARCHAR(512),
    target_id VARCHAR(512),
    content TEXT,
    content_vector VECTOR(:vector_dim),
    create_time TIMESTAMP(0) WITH TIME ZONE,
    update_time TIMESTAMP(0) WITH TIME ZONE,
    chunk_ids VARCHAR(255)[],
    file_path TEXT,
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED,
    CONSTRAINT lightrag_vdb_relation_pk PRIMARY KEY (workspace, id)
);

CREATE TABLE LIGHTRAG_LLM_CACHE (
    workspace VARCHAR(255) NOT NULL,
    id VARCHAR(255) NOT NULL,
    original_prompt TEXT,
    return_value TEXT,
    chunk_id VARCHAR(255),
    cache_type VARCHAR(32),
    queryparam JSONB,
    create_time TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    update_time TIMESTAMP,
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED,
    CONSTRAINT lightrag_llm_cache_pk PRIMARY KEY (workspace, id)
);

CREATE TABLE LIGHTRAG_DOC_STATUS (
    workspace VARCHAR(255) NOT NULL,
    id VARCHAR(255) NOT NULL,
    content_summary VARCHAR(255),
    content_length INT4,
    chunks_count INT4,
    status VARCHAR(64),
    file_path TEXT,
    chunks_list JSONB DEFAULT '[]'::jsonb,
    track_id VARCHAR(255),
    metadata JSONB DEFAULT '{}'::jsonb,
    error_msg TEXT,
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED,
    CONSTRAINT lightrag_doc_status_pk PRIMARY KEY (workspace, id)
);

CREATE TABLE LIGHTRAG_FULL_ENTITIES (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    entity_names JSONB,
    count INTEGER,
    create_time TIMESTAMP(0),
    update_time TIMESTAMP(0),
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED,
    CONSTRAINT lightrag_full_entities_pk PRIMARY KEY (workspace, id)
);

CREATE TABLE LIGHTRAG_FULL_RELATIONS (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    relation_pairs JSONB,
    count INTEGER,
    create_time TIMESTAMP(0),
    update_time TIMESTAMP(0),
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED,
    CONSTRAINT lightrag_full_relations_pk PRIMARY KEY (workspace, id)
);

-- Tenant indexes (2.0.0).
CREATE INDEX idx_lightrag_doc_full_tenant ON LIGHTRAG_DOC_FULL (tenant_id);
CREATE INDEX idx_lightrag_doc_full_tenant_kb ON LIGHTRAG_DOC_FULL (tenant_id, kb_id);
CREATE INDEX idx_lightrag_doc_chunks_tenant ON LIGHTRAG_DOC_CHUNKS (tenant_id);
CREATE INDEX idx_lightrag_doc_chunks_tenant_kb ON LIGHTRAG_DOC_CHUNKS (tenant_id, kb_id);
CREATE INDEX idx_lightrag_vdb_chunks_tenant ON LIGHTRAG_VDB_CHUNKS (tenant_id);
CREATE INDEX idx_lightrag_vdb_chunks_tenant_kb ON LIGHTRAG_VDB_CHUNKS (tenant_id, kb_id);
CREATE INDEX idx_lightrag_vdb_entity_tenant ON LIGHTRAG_VDB_ENTITY (tenant_id);
CREATE INDEX idx_lightrag_vdb_entity_tenant_kb ON LIGHTRAG_VDB_ENTITY (tenant_id, kb_id);
CREATE INDEX idx_lightrag_vdb_relation_tenant ON LIGHTRAG_VDB_RELATION (tenant_id);
CREATE INDEX idx_lightrag_vdb_relation_tenant_kb ON LIGHTRAG_VDB_RELATION (tenant_id, kb_id);
CREATE INDEX idx_lightrag_llm_cache_tenant ON LIGHTRAG_LLM_CACHE (tenant_id);
CREATE INDEX idx_lightrag_llm_cache_tenant_kb ON LIGHTRAG_LLM_CACHE (tenant_id, kb_id);
CREATE INDEX idx_lightrag_doc_status_tenant ON LIGHTRAG_DOC_STATUS (tenant_id);
CREATE INDEX idx_lightrag_doc_status_tenant_kb ON LIGHTRAG_DOC_STATUS (tenant_id, kb_id);
CREATE INDEX idx_lightrag_full_entities_tenant ON LIGHTRAG_FULL_ENTITIES (tenant_id);
CREATE INDEX idx_lightrag_full_entities_tenant_kb ON LIGHTRAG_FULL_ENTITIES (tenant_id, kb_id);
CREATE INDEX idx_lightrag_full_relations_tenant ON LIGHTRAG_FULL_RELATIONS (tenant_id);
CREATE INDEX idx_lightrag_full_relations_tenant_kb ON LIGHTRAG_FULL_RELATIONS (tenant_id, kb_id);

-- Tenant registry (1.0.0).
CREATE TABLE tenants (
    tenant_id VARCHAR(255) NOT NULL,
    name VARCHAR(255),
    description TEXT,
    metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ DEFAULT now(),
    updated_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT tenants_pk PRIMARY KEY (tenant_id)
);

CREATE TABLE knowledge_bases (
    tenant_id VARCHAR(255) NOT NULL,
    kb_id VARCHAR(255) NOT NULL,
    name VARCHAR(255),
    description TEXT,
    metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ DEFAULT now(),
    updated_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT knowledge_bases_pk PRIMARY KEY (tenant_id, kb_id),
    CONSTRAINT knowledge_bases_tenant_fk FOREIGN KEY (tenant_id)
        REFERENCES tenants (tenant_id) ON DELETE CASCADE
);

-- Tenant / knowledge base auto-registration (2.1.0).
CREATE FUNCTION sync_tenant_from_workspace()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_tenant_id VARCHAR(255);
    v_kb_id VARCHAR(255);
BEGIN
    -- In a BEFORE trigger the STORED generated columns (NEW.tenant_id, NEW.kb_id)
    -- are not computed yet, so both parts are taken from the workspace itself.
    v_tenant_id := SPLIT_PART(NEW.workspace, ':', 1);
    v_kb_id := SPLIT_PART(NEW.workspace, ':', 2);

    -- Behaviour as shipped in 3.0.0: a workspace whose second part is empty
    -- ('legacy', 'a:') is never registered, ':b' registers an empty tenant id,
    -- and 'a:b:c' registers tenant 'a' with knowledge base 'b'.
    IF v_kb_id IS NULL OR v_kb_id = '' THEN
        RETURN NEW;
    END IF;

    INSERT INTO tenants (tenant_id, name)
    VALUES (v_tenant_id, v_tenant_id)
    ON CONFLICT DO NOTHING;

    INSERT INTO knowledge_bases (tenant_id, kb_id, name)
    VALUES (v_tenant_id, v_kb_id, v_kb_id)
    ON CONFLICT DO NOTHING;

    RETURN NEW;
END;
$$;

CREATE TRIGGER trg_lightrag_doc_full_sync_tenant
    BEFORE INSERT OR UPDATE ON LIGHTRAG_DOC_FULL
    FOR EACH ROW EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_doc_chunks_sync_tenant
    BEFORE INSERT OR UPDATE ON LIGHTRAG_DOC_CHUNKS
    FOR EACH ROW EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_chunks_sync_tenant
    BEFORE INSERT OR UPDATE ON LIGHTRAG_VDB_CHUNKS
    FOR EACH ROW EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_entity_sync_tenant
    BEFORE INSERT OR UPDATE ON LIGHTRAG_VDB_ENTITY
    FOR EACH ROW EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_relation_sync_tenant
    BEFORE INSERT OR UPDATE ON LIGHTRAG_VDB_RELATION
    FOR EACH ROW EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_llm_cache_sync_tenant
    BEFORE INSERT OR UPDATE ON LIGHTRAG_LLM_CACHE
    FOR EACH ROW EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_doc_status_sync_tenant
    BEFORE INSERT OR UPDATE ON LIGHTRAG_DOC_STATUS
    FOR EACH ROW EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_full_entities_sync_tenant
    BEFORE INSERT OR UPDATE ON LIGHTRAG_FULL_ENTITIES
    FOR EACH ROW EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_full_relations_sync_tenant
    BEFORE INSERT OR UPDATE ON LIGHTRAG_FULL_RELATIONS
    FOR EACH ROW EXECUTE FUNCTION sync_tenant_from_workspace();

-- RBAC (2.2.0).
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

-- Versions this script is equivalent to.
INSERT INTO schema_kit_migrations (version, description, checksum) VALUES
    ('1.0.0', 'Initial schema with LIGHTRAG_* tables', NULL),
    ('2.0.0', 'Add generated columns and indexes', NULL),
    ('2.1.0', 'Add auto-sync trigger', NULL),
    ('2.2.0', 'Create user_tenant_memberships', NULL),
    ('3.0.0', 'Drop unused tables', NULL);
