-- Complete schema at version 3.1.0 in one script (same objects as the migration chain)
-- version: 3.1.0
--
-- Run with: psql -v vector_dim=1024 -f init-postgres-head.sql
-- No BEGIN/COMMIT: wrap it in a transaction (psql --single-transaction) if wanted.

CREATE TABLE IF NOT EXISTS schema_migrations (
    version VARCHAR(32) PRIMARY KEY,
    description TEXT NOT NULL,
    checksum CHAR(64),
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    execution_ms INTEGER
);

CREATE EXTENSION IF NOT EXISTS vector;

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

-- LIGHTRAG_* data tables; tenant_id and kb_id are generated from workspace (2.0.0, 3.1.0),
-- which must be 'tenant:kb' with both parts non-empty; every row's (tenant_id, kb_id) is
-- a registered knowledge base (3.1.0; the key is checked at commit, after the statement-level
-- registration triggers have run).

CREATE TABLE LIGHTRAG_DOC_FULL (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    doc_name VARCHAR(1024),
    content TEXT,
    meta JSONB,
    create_time TIMESTAMP(0),
    update_time TIMESTAMP(0),
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    CONSTRAINT lightrag_doc_full_pk PRIMARY KEY (workspace, id),
    CONSTRAINT lightrag_doc_full_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace)),
    CONSTRAINT lightrag_doc_full_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED
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
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    CONSTRAINT lightrag_doc_chunks_pk PRIMARY KEY (workspace, id),
    CONSTRAINT lightrag_doc_chunks_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace)),
    CONSTRAINT lightrag_doc_chunks_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED
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
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    CONSTRAINT lightrag_vdb_chunks_pk PRIMARY KEY (workspace, id),
    CONSTRAINT lightrag_vdb_chunks_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace)),
    CONSTRAINT lightrag_vdb_chunks_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED
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
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    CONSTRAINT lightrag_vdb_entity_pk PRIMARY KEY (workspace, id),
    CONSTRAINT lightrag_vdb_entity_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace)),
    CONSTRAINT lightrag_vdb_entity_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED
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
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    CONSTRAINT lightrag_vdb_relation_pk PRIMARY KEY (workspace, id),
    CONSTRAINT lightrag_vdb_relation_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace)),
    CONSTRAINT lightrag_vdb_relation_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED
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
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    CONSTRAINT lightrag_llm_cache_pk PRIMARY KEY (workspace, id),
    CONSTRAINT lightrag_llm_cache_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace)),
    CONSTRAINT lightrag_llm_cache_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED
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
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    CONSTRAINT lightrag_doc_status_pk PRIMARY KEY (workspace, id),
    CONSTRAINT lightrag_doc_status_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace)),
    CONSTRAINT lightrag_doc_status_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE LIGHTRAG_FULL_ENTITIES (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    entity_names JSONB,
    count INTEGER,
    create_time TIMESTAMP(0),
    update_time TIMESTAMP(0),
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    CONSTRAINT lightrag_full_entities_pk PRIMARY KEY (workspace, id),
    CONSTRAINT lightrag_full_entities_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace)),
    CONSTRAINT lightrag_full_entities_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE LIGHTRAG_FULL_RELATIONS (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    relation_pairs JSONB,
    count INTEGER,
    create_time TIMESTAMP(0),
    update_time TIMESTAMP(0),
    tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    CONSTRAINT lightrag_full_relations_pk PRIMARY KEY (workspace, id),
    CONSTRAINT lightrag_full_relations_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace)),
    CONSTRAINT lightrag_full_relations_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED
);

-- Tenant indexes (2.0.0, re-created by 3.1.0).
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

-- Tenant / knowledge base auto-registration (2.1.0, 3.1.0): set-based, per statement, in
-- sorted key order (see 3.1.0), by two statement-level AFTER triggers per data table.
CREATE FUNCTION sync_tenant_from_workspace()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    -- Statement-level AFTER trigger, AFTER INSERT or AFTER UPDATE, with the rows the
    -- statement inserted or updated in the transition table new_rows. In an AFTER trigger
    -- the STORED generated columns are computed, so tenant_id / kb_id are read as stored
    -- (tenant = the text before the first ':', kb = everything after it).
    --
    -- Each tenant and knowledge base is registered once per statement, in sorted order:
    -- every writer then takes the registry's keys in the same order, so concurrent
    -- writers of the same new tenants wait for one another instead of deadlocking, and
    -- ON CONFLICT DO NOTHING makes exactly one of them register each key.
    --
    -- A row without a non-empty tenant and kb registers nothing (the
    -- <table>_workspace_format CHECK has refused such a row before this trigger runs).
    INSERT INTO tenants (tenant_id, name)
    SELECT DISTINCT r.tenant_id, r.tenant_id
    FROM new_rows AS r
    WHERE r.tenant_id <> '' AND r.kb_id <> ''
    ORDER BY 1
    ON CONFLICT DO NOTHING;

    INSERT INTO knowledge_bases (tenant_id, kb_id, name)
    SELECT DISTINCT r.tenant_id, r.kb_id, r.kb_id
    FROM new_rows AS r
    WHERE r.tenant_id <> '' AND r.kb_id <> ''
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;

    RETURN NULL;
END;
$$;

CREATE TRIGGER trg_lightrag_doc_full_register_insert
    AFTER INSERT ON LIGHTRAG_DOC_FULL
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_doc_full_register_update
    AFTER UPDATE ON LIGHTRAG_DOC_FULL
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_doc_chunks_register_insert
    AFTER INSERT ON LIGHTRAG_DOC_CHUNKS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_doc_chunks_register_update
    AFTER UPDATE ON LIGHTRAG_DOC_CHUNKS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_chunks_register_insert
    AFTER INSERT ON LIGHTRAG_VDB_CHUNKS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_chunks_register_update
    AFTER UPDATE ON LIGHTRAG_VDB_CHUNKS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_entity_register_insert
    AFTER INSERT ON LIGHTRAG_VDB_ENTITY
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_entity_register_update
    AFTER UPDATE ON LIGHTRAG_VDB_ENTITY
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_relation_register_insert
    AFTER INSERT ON LIGHTRAG_VDB_RELATION
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_relation_register_update
    AFTER UPDATE ON LIGHTRAG_VDB_RELATION
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_llm_cache_register_insert
    AFTER INSERT ON LIGHTRAG_LLM_CACHE
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_llm_cache_register_update
    AFTER UPDATE ON LIGHTRAG_LLM_CACHE
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_doc_status_register_insert
    AFTER INSERT ON LIGHTRAG_DOC_STATUS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_doc_status_register_update
    AFTER UPDATE ON LIGHTRAG_DOC_STATUS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_full_entities_register_insert
    AFTER INSERT ON LIGHTRAG_FULL_ENTITIES
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_full_entities_register_update
    AFTER UPDATE ON LIGHTRAG_FULL_ENTITIES
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_full_relations_register_insert
    AFTER INSERT ON LIGHTRAG_FULL_RELATIONS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_full_relations_register_update
    AFTER UPDATE ON LIGHTRAG_FULL_RELATIONS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

-- RBAC (2.2.0, 3.1.0).
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
    v_required INTEGER;
    v_role VARCHAR(32);
BEGIN
    -- Fail closed: a NULL argument, or a required role other than owner, admin, editor,
    -- viewer (exact spelling), grants nothing.
    IF p_user_id IS NULL OR p_tenant_id IS NULL OR p_required_role IS NULL THEN
        RETURN false;
    END IF;

    v_required := CASE p_required_role
                      WHEN 'owner' THEN 4
                      WHEN 'admin' THEN 3
                      WHEN 'editor' THEN 2
                      WHEN 'viewer' THEN 1
                  END;
    IF v_required IS NULL THEN
        RETURN false;
    END IF;

    SELECT m.role INTO v_role
    FROM user_tenant_memberships m
    WHERE m.user_id = p_user_id AND m.tenant_id = p_tenant_id;

    -- A member has what the member's role ranks: owner 4 > admin 3 > editor 2 > viewer 1.
    IF FOUND THEN
        RETURN COALESCE(CASE v_role
                            WHEN 'owner' THEN 4
                            WHEN 'admin' THEN 3
                            WHEN 'editor' THEN 2
                            WHEN 'viewer' THEN 1
                        END, 0) >= v_required;
    END IF;

    -- No membership: read access (viewer) only, and only to a tenant whose metadata holds
    -- "is_public": true as a JSON boolean (a string, number or anything else is not public).
    RETURN p_required_role = 'viewer'
        AND EXISTS (SELECT 1
                    FROM tenants t
                    WHERE t.tenant_id = p_tenant_id
                      AND t.metadata -> 'is_public' = 'true'::jsonb);
END;
$$;

-- Versions this script is equivalent to.
INSERT INTO schema_migrations (version, description, checksum) VALUES
    ('1.0.0', 'Initial schema with LIGHTRAG_* tables', NULL),
    ('2.0.0', 'Add generated columns and indexes', NULL),
    ('2.1.0', 'Add auto-sync trigger', NULL),
    ('2.2.0', 'Create user_tenant_memberships', NULL),
    ('3.0.0', 'Drop unused tables', NULL),
    ('3.1.0', 'Enforce the tenant contract', NULL);
