-- Complete schema at version 3.3.0 in one script (same objects as the migration chain)
-- version: 3.3.0
--
-- Run with: psql -v vector_dim=1024 -v vector_suffix= -f init-postgres-head.sql
-- (vector_suffix: LightRAG's <model>_<dim>d, e.g. text_embedding_3_large_3072d; empty keeps
-- the plain LIGHTRAG_VDB_* names). CREATE EVENT TRIGGER needs a superuser.
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

-- Tenant / knowledge base auto-registration (2.1.0, 3.1.0, 3.3.0): two statement-level
-- AFTER triggers per data table stage the keys a transaction writes; a deferred constraint
-- trigger registers them at commit in one sorted pass (see 3.3.0).
CREATE UNLOGGED TABLE tenant_registration_pending (
    xact_id xid8 NOT NULL,
    tenant_id VARCHAR(255) NOT NULL,
    kb_id VARCHAR(255) NOT NULL,
    CONSTRAINT tenant_registration_pending_pk PRIMARY KEY (xact_id, tenant_id, kb_id)
);

CREATE FUNCTION register_pending_tenants()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_xact xid8 := pg_current_xact_id();
BEGIN
    -- As a deferred row-level constraint trigger on the data tables it fires at commit (or
    -- SET CONSTRAINTS ... IMMEDIATE) once per written row: the first firing registers every
    -- key the transaction staged, in one pass in one global order (tenants sorted, then
    -- knowledge bases sorted), and clears them; the others find nothing staged. Two
    -- committing transactions therefore take registry keys in the same order and wait for
    -- one another instead of deadlocking, and ON CONFLICT DO NOTHING registers each key
    -- once.
    IF NOT EXISTS (SELECT 1 FROM tenant_registration_pending WHERE xact_id = v_xact) THEN
        RETURN NULL;
    END IF;
    INSERT INTO tenants (tenant_id, name)
    SELECT DISTINCT p.tenant_id, p.tenant_id
    FROM tenant_registration_pending AS p
    WHERE p.xact_id = v_xact
    ORDER BY 1
    ON CONFLICT DO NOTHING;
    INSERT INTO knowledge_bases (tenant_id, kb_id, name)
    SELECT p.tenant_id, p.kb_id, p.kb_id
    FROM tenant_registration_pending AS p
    WHERE p.xact_id = v_xact
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    DELETE FROM tenant_registration_pending WHERE xact_id = v_xact;
    RETURN NULL;
END;
$$;

CREATE FUNCTION guard_registry_delete()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_xact xid8 := pg_current_xact_id_if_assigned();
    v_unregistered TEXT;
BEGIN
    -- BEFORE DELETE, per statement, on tenants and knowledge_bases. A key this transaction
    -- staged but has not registered yet is not in the registry this DELETE reads (rows a
    -- BEFORE trigger would insert are not visible to the statement that fired it), so the
    -- DELETE could not take it and commit would register it anyway: refuse instead of
    -- losing the operator's delete. Staged keys that are registered already are dropped from
    -- the stage, so a tenant or kb deleted here does not come back at commit.
    IF v_xact IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(format('%s:%s', p.tenant_id, p.kb_id), ', ' ORDER BY p.tenant_id, p.kb_id)
    INTO v_unregistered
    FROM tenant_registration_pending AS p
    WHERE p.xact_id = v_xact
      AND NOT EXISTS (
          SELECT 1 FROM knowledge_bases AS kb
          WHERE kb.tenant_id = p.tenant_id AND kb.kb_id = p.kb_id
      );
    IF v_unregistered IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format(
                'cannot delete from %I: this transaction wrote into %s, which are registered '
                'only at commit', TG_TABLE_NAME, v_unregistered),
            HINT = 'COMMIT (or SET CONSTRAINTS ALL IMMEDIATE) before deleting from the '
                   'registry, or delete before writing.';
    END IF;
    DELETE FROM tenant_registration_pending WHERE xact_id = v_xact;
    RETURN NULL;
END;
$$;

CREATE TRIGGER trg_tenants_guard_delete
    BEFORE DELETE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION guard_registry_delete();

CREATE TRIGGER trg_knowledge_bases_guard_delete
    BEFORE DELETE ON knowledge_bases
    FOR EACH STATEMENT EXECUTE FUNCTION guard_registry_delete();

CREATE FUNCTION sync_tenant_from_workspace()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    -- Statement-level AFTER INSERT / AFTER UPDATE trigger: stages the distinct (tenant, kb)
    -- of the statement's rows (transition table new_rows, generated columns computed) for
    -- this transaction. Nothing is registered here, so no registry key is held between
    -- statements; register_pending_tenants() registers them all at commit. Every key is
    -- staged, registered or not: one that another session deletes meanwhile is registered
    -- again at commit instead of the commit failing on the foreign key.
    INSERT INTO tenant_registration_pending (xact_id, tenant_id, kb_id)
    SELECT DISTINCT pg_current_xact_id(), r.tenant_id, r.kb_id
    FROM new_rows AS r
    WHERE r.tenant_id <> '' AND r.kb_id <> ''
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

CREATE CONSTRAINT TRIGGER "Commit_lightrag_doc_full_register"
    AFTER INSERT OR UPDATE ON LIGHTRAG_DOC_FULL
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION register_pending_tenants();

CREATE CONSTRAINT TRIGGER "Commit_lightrag_doc_chunks_register"
    AFTER INSERT OR UPDATE ON LIGHTRAG_DOC_CHUNKS
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION register_pending_tenants();

CREATE CONSTRAINT TRIGGER "Commit_lightrag_vdb_chunks_register"
    AFTER INSERT OR UPDATE ON LIGHTRAG_VDB_CHUNKS
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION register_pending_tenants();

CREATE CONSTRAINT TRIGGER "Commit_lightrag_vdb_entity_register"
    AFTER INSERT OR UPDATE ON LIGHTRAG_VDB_ENTITY
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION register_pending_tenants();

CREATE CONSTRAINT TRIGGER "Commit_lightrag_vdb_relation_register"
    AFTER INSERT OR UPDATE ON LIGHTRAG_VDB_RELATION
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION register_pending_tenants();

CREATE CONSTRAINT TRIGGER "Commit_lightrag_llm_cache_register"
    AFTER INSERT OR UPDATE ON LIGHTRAG_LLM_CACHE
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION register_pending_tenants();

CREATE CONSTRAINT TRIGGER "Commit_lightrag_doc_status_register"
    AFTER INSERT OR UPDATE ON LIGHTRAG_DOC_STATUS
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION register_pending_tenants();

CREATE CONSTRAINT TRIGGER "Commit_lightrag_full_entities_register"
    AFTER INSERT OR UPDATE ON LIGHTRAG_FULL_ENTITIES
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION register_pending_tenants();

CREATE CONSTRAINT TRIGGER "Commit_lightrag_full_relations_register"
    AFTER INSERT OR UPDATE ON LIGHTRAG_FULL_RELATIONS
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION register_pending_tenants();

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

-- LightRAG's other tables, model-named vector tables and the event triggers that keep
-- the contract on them (3.2.0).
CREATE FUNCTION tenant_object_name(p_pattern TEXT, p_table TEXT)
RETURNS TEXT
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE
               WHEN octet_length(format(p_pattern, p_table)) <= 63
                   THEN format(p_pattern, p_table)
               ELSE format(p_pattern,
                           left(p_table, 63 - (octet_length(p_pattern) - 2) - 9)
                               || '_' || left(md5(p_table), 8))
           END;
$$;

CREATE FUNCTION attach_tenant_contract(p_table TEXT)
RETURNS VOID
LANGUAGE plpgsql
AS $$
DECLARE
    c_rule CONSTANT TEXT :=
        'strpos(workspace, '':'') > 1 AND strpos(workspace, '':'') < length(workspace)';
    v_bad BIGINT;
    v_listing TEXT;
BEGIN
    EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', p_table);

    -- Rows written before the contract must fit it; list them rather than let the CHECK
    -- fail with a bare violation, and change nothing.
    EXECUTE format('SELECT count(*) FROM %I WHERE NOT (%s)', p_table, c_rule) INTO v_bad;
    IF v_bad > 0 THEN
        EXECUTE format(
            'SELECT string_agg(format(''  workspace %%L, id %%L'', workspace, id), E''\n'') '
            'FROM (SELECT workspace, id FROM %I WHERE NOT (%s) ORDER BY 1, 2 LIMIT 20) AS b',
            p_table, c_rule)
            INTO v_listing;
        RAISE EXCEPTION E'% has % row(s) whose workspace is not ''tenant:kb''%:\n%',
                p_table, v_bad,
                CASE WHEN v_bad > 20 THEN ' (the first 20 are listed)' ELSE '' END, v_listing
            USING ERRCODE = 'check_violation',
                  HINT = 'Update those workspaces to ''tenant:kb'' form (e.g. ''legacy'' -> '
                         '''legacy:default''), then run again; nothing was changed.';
    END IF;

    EXECUTE format(
        'ALTER TABLE %I '
        'ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, '':'', 1)) STORED, '
        'ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, '':'') + 1)) STORED, '
        'ADD CONSTRAINT %I CHECK (%s)',
        p_table, tenant_object_name('%s_workspace_format', p_table), c_rule);
    EXECUTE format('CREATE INDEX %I ON %I (tenant_id)',
                   tenant_object_name('idx_%s_tenant', p_table), p_table);
    EXECUTE format('CREATE INDEX %I ON %I (tenant_id, kb_id)',
                   tenant_object_name('idx_%s_tenant_kb', p_table), p_table);
    EXECUTE format(
        'CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows '
        'FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace()',
        tenant_object_name('trg_%s_register_insert', p_table), p_table);
    EXECUTE format(
        'CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING NEW TABLE AS new_rows '
        'FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace()',
        tenant_object_name('trg_%s_register_update', p_table), p_table);

    -- Existing rows are registered before the foreign key checks them.
    EXECUTE format(
        'INSERT INTO tenants (tenant_id, name) SELECT DISTINCT tenant_id, tenant_id FROM %I '
        'ORDER BY 1 ON CONFLICT DO NOTHING', p_table);
    EXECUTE format(
        'INSERT INTO knowledge_bases (tenant_id, kb_id, name) '
        'SELECT DISTINCT tenant_id, kb_id, kb_id FROM %I ORDER BY 1, 2 ON CONFLICT DO NOTHING',
        p_table);
    EXECUTE format(
        'ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (tenant_id, kb_id) '
        'REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE '
        'DEFERRABLE INITIALLY DEFERRED',
        p_table, tenant_object_name('%s_kb_fk', p_table));
    EXECUTE format(
        'CREATE CONSTRAINT TRIGGER %I AFTER INSERT OR UPDATE ON %I '
        'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION register_pending_tenants()',
        tenant_object_name('Commit_%s_register', p_table), p_table);
END;
$$;

-- Tables that LightRAG writes (named lightrag_*, with workspace and id) and that do not
-- carry the tenant columns yet.
CREATE FUNCTION tenant_contract_candidates()
RETURNS SETOF TEXT
LANGUAGE sql
STABLE
AS $$
    SELECT c.relname::text
    FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace
      AND c.relkind = 'r'
      AND c.relname LIKE 'lightrag\_%'
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                  AND a.attname = 'workspace' AND NOT a.attisdropped)
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                  AND a.attname = 'id' AND NOT a.attisdropped)
      AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                      AND a.attname = 'tenant_id' AND NOT a.attisdropped)
    ORDER BY 1;
$$;

-- Renames a table under the contract with the objects whose names derive from it: the
-- contract's by their patterns, any other index whose name contains the old table name
-- (LightRAG's own, which it looks up by name) when the new name fits in 63 bytes.
CREATE FUNCTION rename_tenant_table(p_old TEXT, p_new TEXT)
RETURNS VOID
LANGUAGE plpgsql
AS $$
DECLARE
    v_pattern TEXT;
    v_name TEXT;
BEGIN
    IF to_regclass(quote_ident(p_new)) IS NOT NULL THEN
        RAISE EXCEPTION 'cannot rename % to %: % already exists', p_old, p_new, p_new
            USING ERRCODE = 'duplicate_table',
                  HINT = 'Move its rows into one table or drop the empty one, then run again.';
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', p_old, p_new);
    -- Other indexes first (LightRAG's; the contract's while their names fit): the old name
    -- is a prefix of a suffixed one, so a name renamed already must not be seen again.
    FOR v_name IN
        SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = p_new::regclass
          AND strpos(i.relname, p_old) > 0
          AND octet_length(replace(i.relname, p_old, p_new)) <= 63
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid)
        ORDER BY 1
    LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', v_name, replace(v_name, p_old, p_new));
    END LOOP;
    FOREACH v_pattern IN ARRAY ARRAY['idx_%s_tenant', 'idx_%s_tenant_kb'] LOOP
        IF to_regclass(quote_ident(tenant_object_name(v_pattern, p_old))) IS NOT NULL THEN
            EXECUTE format('ALTER INDEX %I RENAME TO %I', tenant_object_name(v_pattern, p_old),
                           tenant_object_name(v_pattern, p_new));
        END IF;
    END LOOP;
    FOREACH v_pattern IN ARRAY ARRAY['%s_pk', '%s_workspace_format', '%s_kb_fk'] LOOP
        IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = p_new::regclass
                   AND conname = tenant_object_name(v_pattern, p_old)) THEN
            EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', p_new,
                           tenant_object_name(v_pattern, p_old),
                           tenant_object_name(v_pattern, p_new));
        END IF;
    END LOOP;
    FOREACH v_pattern IN ARRAY ARRAY['trg_%s_register_insert', 'trg_%s_register_update',
                                     'Commit_%s_register'] LOOP
        EXECUTE format('ALTER TRIGGER %I ON %I RENAME TO %I',
                       tenant_object_name(v_pattern, p_old), p_new,
                       tenant_object_name(v_pattern, p_new));
    END LOOP;
END;
$$;

-- The vector tables under the names LightRAG derives from its embedding model.
CREATE FUNCTION rename_vector_tables(p_from_suffix TEXT, p_to_suffix TEXT)
RETURNS VOID
LANGUAGE plpgsql
AS $$
DECLARE
    v_base TEXT;
    v_from TEXT;
    v_to TEXT;
BEGIN
    IF p_to_suffix !~ '^[a-z0-9_]*$' THEN
        RAISE EXCEPTION 'vector_suffix % must be lowercase letters, digits and _ (LightRAG '
                        'writes <model name>_<dim>d, e.g. text_embedding_3_large_3072d)',
                        quote_literal(p_to_suffix)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_from_suffix = p_to_suffix THEN
        RETURN;
    END IF;
    FOREACH v_base IN ARRAY ARRAY['lightrag_vdb_chunks', 'lightrag_vdb_entity',
                                  'lightrag_vdb_relation'] LOOP
        v_from := v_base || CASE WHEN p_from_suffix = '' THEN '' ELSE '_' || p_from_suffix END;
        v_to := v_base || CASE WHEN p_to_suffix = '' THEN '' ELSE '_' || p_to_suffix END;
        IF octet_length(v_to) > 63 THEN
            RAISE EXCEPTION 'table name % is over 63 bytes: use a shorter vector_suffix', v_to
                USING ERRCODE = 'name_too_long';
        END IF;
        PERFORM rename_tenant_table(v_from, v_to);
    END LOOP;
END;
$$;

CREATE FUNCTION tenant_contract_on_create()
RETURNS event_trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_table TEXT;
BEGIN
    -- Only tables this statement created: ALTERs inside attach do not fire this trigger.
    FOR v_table IN
        SELECT t FROM tenant_contract_candidates() AS t
        WHERE t IN (SELECT c.relname FROM pg_event_trigger_ddl_commands() AS d
                    JOIN pg_class c ON c.oid = d.objid
                    WHERE d.command_tag = 'CREATE TABLE' AND d.object_type = 'table')
    LOOP
        PERFORM attach_tenant_contract(v_table);
    END LOOP;
END;
$$;

CREATE FUNCTION tenant_contract_on_drop()
RETURNS event_trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_objects TEXT;
BEGIN
    IF coalesce(current_setting('schema_kit.allow_tenant_ddl', true), '') = 'on' THEN
        RETURN;
    END IF;
    SELECT string_agg(o.object_type || ' ' || o.object_identity, ', ' ORDER BY o.object_identity)
    INTO v_objects
    FROM pg_event_trigger_dropped_objects() AS o
    -- PostgreSQL 16 reports no schema for a dropped trigger (18 does).
    WHERE coalesce(o.schema_name, current_schema()) = current_schema()
      AND ((o.object_type = 'table column' AND o.object_identity ~ '\.(tenant_id|kb_id)$')
           OR (o.object_type = 'trigger'
               AND o.object_identity ~ '^(trg_.*_register_(insert|update)|"Commit_.*_register") on ')
           OR (o.object_type = 'table constraint'
               AND o.object_identity ~ '_(workspace_format|kb_fk) on '));
    IF v_objects IS NOT NULL THEN
        RAISE EXCEPTION 'refusing to drop the tenant contract: %', v_objects
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Rows written without it would escape tenant isolation. A LightRAG '
                         'with an embedding model name drops the plain LIGHTRAG_VDB_* tables '
                         'when they are empty: migrate with vector_suffix=<model>_<dim>d '
                         'instead. A migration that means it runs SET LOCAL '
                         'schema_kit.allow_tenant_ddl = on first.';
    END IF;
END;
$$;

CREATE TABLE IF NOT EXISTS LIGHTRAG_ENTITY_CHUNKS (
    id VARCHAR(512) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    chunk_ids JSONB,
    count INTEGER,
    create_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP,
    update_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT lightrag_entity_chunks_pk PRIMARY KEY (workspace, id)
);

CREATE TABLE IF NOT EXISTS LIGHTRAG_RELATION_CHUNKS (
    id VARCHAR(512) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    chunk_ids JSONB,
    count INTEGER,
    create_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP,
    update_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT lightrag_relation_chunks_pk PRIMARY KEY (workspace, id)
);

SELECT attach_tenant_contract(t) FROM tenant_contract_candidates() AS t;

SELECT rename_vector_tables('', :'vector_suffix');

CREATE EVENT TRIGGER schema_kit_tenant_contract_on_create ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE')
    EXECUTE FUNCTION tenant_contract_on_create();

CREATE EVENT TRIGGER schema_kit_tenant_contract_on_drop ON sql_drop
    EXECUTE FUNCTION tenant_contract_on_drop();

-- Versions this script is equivalent to.
INSERT INTO schema_kit_migrations (version, description, checksum) VALUES
    ('1.0.0', 'Initial schema with LIGHTRAG_* tables', NULL),
    ('2.0.0', 'Add generated columns and indexes', NULL),
    ('2.1.0', 'Add auto-sync trigger', NULL),
    ('2.2.0', 'Create user_tenant_memberships', NULL),
    ('3.0.0', 'Drop unused tables', NULL),
    ('3.1.0', 'Enforce the tenant contract', NULL),
    ('3.2.0', 'Tenant contract on every table LightRAG writes', NULL),
    ('3.3.0', 'Register tenants and knowledge bases at commit, in one sorted pass', NULL);
