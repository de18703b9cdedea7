-- Add auto-sync trigger
--
-- sync_tenant_from_workspace() and one BEFORE INSERT OR UPDATE trigger per data table
-- (9) that registers the workspace's tenant and knowledge base.

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
