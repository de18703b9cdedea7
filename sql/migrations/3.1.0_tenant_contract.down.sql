-- Revert 3.1.0: restore the 3.0.0 extraction, trigger and RBAC function exactly
--
-- Drops the foreign keys and format CHECKs, re-creates tenant_id / kb_id with the 3.0.0
-- expressions and the 18 tenant indexes, replaces the 18 statement-level registration
-- triggers (trg_<table>_register_insert / _update) by the 9 row-level BEFORE INSERT OR
-- UPDATE triggers trg_<table>_sync_tenant, and restores the 3.0.0 bodies of
-- sync_tenant_from_workspace() and has_tenant_access(). Rows are kept; the registry keeps
-- what 3.1.0 registered.

LOCK TABLE
    LIGHTRAG_DOC_FULL,
    LIGHTRAG_DOC_CHUNKS,
    LIGHTRAG_VDB_CHUNKS,
    LIGHTRAG_VDB_ENTITY,
    LIGHTRAG_VDB_RELATION,
    LIGHTRAG_LLM_CACHE,
    LIGHTRAG_DOC_STATUS,
    LIGHTRAG_FULL_ENTITIES,
    LIGHTRAG_FULL_RELATIONS
    IN ACCESS EXCLUSIVE MODE;

ALTER TABLE LIGHTRAG_DOC_FULL
    DROP CONSTRAINT lightrag_doc_full_kb_fk,
    DROP CONSTRAINT lightrag_doc_full_workspace_format;
ALTER TABLE LIGHTRAG_DOC_CHUNKS
    DROP CONSTRAINT lightrag_doc_chunks_kb_fk,
    DROP CONSTRAINT lightrag_doc_chunks_workspace_format;
ALTER TABLE LIGHTRAG_VDB_CHUNKS
    DROP CONSTRAINT lightrag_vdb_chunks_kb_fk,
    DROP CONSTRAINT lightrag_vdb_chunks_workspace_format;
ALTER TABLE LIGHTRAG_VDB_ENTITY
    DROP CONSTRAINT lightrag_vdb_entity_kb_fk,
    DROP CONSTRAINT lightrag_vdb_entity_workspace_format;
ALTER TABLE LIGHTRAG_VDB_RELATION
    DROP CONSTRAINT lightrag_vdb_relation_kb_fk,
    DROP CONSTRAINT lightrag_vdb_relation_workspace_format;
ALTER TABLE LIGHTRAG_LLM_CACHE
    DROP CONSTRAINT lightrag_llm_cache_kb_fk,
    DROP CONSTRAINT lightrag_llm_cache_workspace_format;
ALTER TABLE LIGHTRAG_DOC_STATUS
    DROP CONSTRAINT lightrag_doc_status_kb_fk,
    DROP CONSTRAINT lightrag_doc_status_workspace_format;
ALTER TABLE LIGHTRAG_FULL_ENTITIES
    DROP CONSTRAINT lightrag_full_entities_kb_fk,
    DROP CONSTRAINT lightrag_full_entities_workspace_format;
ALTER TABLE LIGHTRAG_FULL_RELATIONS
    DROP CONSTRAINT lightrag_full_relations_kb_fk,
    DROP CONSTRAINT lightrag_full_relations_workspace_format;

DROP INDEX idx_lightrag_doc_full_tenant_kb;
DROP INDEX idx_lightrag_doc_full_tenant;
ALTER TABLE LIGHTRAG_DOC_FULL
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_DOC_FULL
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_doc_full_tenant ON LIGHTRAG_DOC_FULL (tenant_id);
CREATE INDEX idx_lightrag_doc_full_tenant_kb ON LIGHTRAG_DOC_FULL (tenant_id, kb_id);

DROP INDEX idx_lightrag_doc_chunks_tenant_kb;
DROP INDEX idx_lightrag_doc_chunks_tenant;
ALTER TABLE LIGHTRAG_DOC_CHUNKS
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_DOC_CHUNKS
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_doc_chunks_tenant ON LIGHTRAG_DOC_CHUNKS (tenant_id);
CREATE INDEX idx_lightrag_doc_chunks_tenant_kb ON LIGHTRAG_DOC_CHUNKS (tenant_id, kb_id);

DROP INDEX idx_lightrag_vdb_chunks_tenant_kb;
DROP INDEX idx_lightrag_vdb_chunks_tenant;
ALTER TABLE LIGHTRAG_VDB_CHUNKS
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_VDB_CHUNKS
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_vdb_chunks_tenant ON LIGHTRAG_VDB_CHUNKS (tenant_id);
CREATE INDEX idx_lightrag_vdb_chunks_tenant_kb ON LIGHTRAG_VDB_CHUNKS (tenant_id, kb_id);

DROP INDEX idx_lightrag_vdb_entity_tenant_kb;
DROP INDEX idx_lightrag_vdb_entity_tenant;
ALTER TABLE LIGHTRAG_VDB_ENTITY
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_VDB_ENTITY
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_vdb_entity_tenant ON LIGHTRAG_VDB_ENTITY (tenant_id);
CREATE INDEX idx_lightrag_vdb_entity_tenant_kb ON LIGHTRAG_VDB_ENTITY (tenant_id, kb_id);

DROP INDEX idx_lightrag_vdb_relation_tenant_kb;
DROP INDEX idx_lightrag_vdb_relation_tenant;
ALTER TABLE LIGHTRAG_VDB_RELATION
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_VDB_RELATION
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_vdb_relation_tenant ON LIGHTRAG_VDB_RELATION (tenant_id);
CREATE INDEX idx_lightrag_vdb_relation_tenant_kb ON LIGHTRAG_VDB_RELATION (tenant_id, kb_id);

DROP INDEX idx_lightrag_llm_cache_tenant_kb;
DROP INDEX idx_lightrag_llm_cache_tenant;
ALTER TABLE LIGHTRAG_LLM_CACHE
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_LLM_CACHE
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_llm_cache_tenant ON LIGHTRAG_LLM_CACHE (tenant_id);
CREATE INDEX idx_lightrag_llm_cache_tenant_kb ON LIGHTRAG_LLM_CACHE (tenant_id, kb_id);

DROP INDEX idx_lightrag_doc_status_tenant_kb;
DROP INDEX idx_lightrag_doc_status_tenant;
ALTER TABLE LIGHTRAG_DOC_STATUS
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_DOC_STATUS
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_doc_status_tenant ON LIGHTRAG_DOC_STATUS (tenant_id);
CREATE INDEX idx_lightrag_doc_status_tenant_kb ON LIGHTRAG_DOC_STATUS (tenant_id, kb_id);

DROP INDEX idx_lightrag_full_entities_tenant_kb;
DROP INDEX idx_lightrag_full_entities_tenant;
ALTER TABLE LIGHTRAG_FULL_ENTITIES
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_FULL_ENTITIES
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_full_entities_tenant ON LIGHTRAG_FULL_ENTITIES (tenant_id);
CREATE INDEX idx_lightrag_full_entities_tenant_kb ON LIGHTRAG_FULL_ENTITIES (tenant_id, kb_id);

DROP INDEX idx_lightrag_full_relations_tenant_kb;
DROP INDEX idx_lightrag_full_relations_tenant;
ALTER TABLE LIGHTRAG_FULL_RELATIONS
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_FULL_RELATIONS
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_full_relations_tenant ON LIGHTRAG_FULL_RELATIONS (tenant_id);
CREATE INDEX idx_lightrag_full_relations_tenant_kb ON LIGHTRAG_FULL_RELATIONS (tenant_id, kb_id);

DROP TRIGGER trg_lightrag_doc_full_register_insert ON LIGHTRAG_DOC_FULL;
DROP TRIGGER trg_lightrag_doc_full_register_update ON LIGHTRAG_DOC_FULL;
DROP TRIGGER trg_lightrag_doc_chunks_register_insert ON LIGHTRAG_DOC_CHUNKS;
DROP TRIGGER trg_lightrag_doc_chunks_register_update ON LIGHTRAG_DOC_CHUNKS;
DROP TRIGGER trg_lightrag_vdb_chunks_register_insert ON LIGHTRAG_VDB_CHUNKS;
DROP TRIGGER trg_lightrag_vdb_chunks_register_update ON LIGHTRAG_VDB_CHUNKS;
DROP TRIGGER trg_lightrag_vdb_entity_register_insert ON LIGHTRAG_VDB_ENTITY;
DROP TRIGGER trg_lightrag_vdb_entity_register_update ON LIGHTRAG_VDB_ENTITY;
DROP TRIGGER trg_lightrag_vdb_relation_register_insert ON LIGHTRAG_VDB_RELATION;
DROP TRIGGER trg_lightrag_vdb_relation_register_update ON LIGHTRAG_VDB_RELATION;
DROP TRIGGER trg_lightrag_llm_cache_register_insert ON LIGHTRAG_LLM_CACHE;
DROP TRIGGER trg_lightrag_llm_cache_register_update ON LIGHTRAG_LLM_CACHE;
DROP TRIGGER trg_lightrag_doc_status_register_insert ON LIGHTRAG_DOC_STATUS;
DROP TRIGGER trg_lightrag_doc_status_register_update ON LIGHTRAG_DOC_STATUS;
DROP TRIGGER trg_lightrag_full_entities_register_insert ON LIGHTRAG_FULL_ENTITIES;
DROP TRIGGER trg_lightrag_full_entities_register_update ON LIGHTRAG_FULL_ENTITIES;
DROP TRIGGER trg_lightrag_full_relations_register_insert ON LIGHTRAG_FULL_RELATIONS;
DROP TRIGGER trg_lightrag_full_relations_register_update ON LIGHTRAG_FULL_RELATIONS;

CREATE OR REPLACE FUNCTION sync_tenant_from_workspace()
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

CREATE OR REPLACE FUNCTION has_tenant_access(
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
