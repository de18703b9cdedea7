-- Revert 2.0.0: drop the tenant indexes and generated columns

DROP INDEX idx_lightrag_full_relations_tenant_kb;
DROP INDEX idx_lightrag_full_relations_tenant;
ALTER TABLE LIGHTRAG_FULL_RELATIONS
    DROP COLUMN kb_id,
    DROP COLUMN tenant_id;

DROP INDEX idx_lightrag_full_entities_tenant_kb;
DROP INDEX idx_lightrag_full_entities_tenant;
ALTER TABLE LIGHTRAG_FULL_ENTITIES
    DROP COLUMN kb_id,
    DROP COLUMN tenant_id;

DROP INDEX idx_lightrag_doc_status_tenant_kb;
DROP INDEX idx_lightrag_doc_status_tenant;
ALTER TABLE LIGHTRAG_DOC_STATUS
    DROP COLUMN kb_id,
    DROP COLUMN tenant_id;

DROP INDEX idx_lightrag_llm_cache_tenant_kb;
DROP INDEX idx_lightrag_llm_cache_tenant;
ALTER TABLE LIGHTRAG_LLM_CACHE
    DROP COLUMN kb_id,
    DROP COLUMN tenant_id;

DROP INDEX idx_lightrag_vdb_relation_tenant_kb;
DROP INDEX idx_lightrag_vdb_relation_tenant;
ALTER TABLE LIGHTRAG_VDB_RELATION
    DROP COLUMN kb_id,
    DROP COLUMN tenant_id;

DROP INDEX idx_lightrag_vdb_entity_tenant_kb;
DROP INDEX idx_lightrag_vdb_entity_tenant;
ALTER TABLE LIGHTRAG_VDB_ENTITY
    DROP COLUMN kb_id,
    DROP COLUMN tenant_id;

DROP INDEX idx_lightrag_vdb_chunks_tenant_kb;
DROP INDEX idx_lightrag_vdb_chunks_tenant;
ALTER TABLE LIGHTRAG_VDB_CHUNKS
    DROP COLUMN kb_id,
    DROP COLUMN tenant_id;

DROP INDEX idx_lightrag_doc_chunks_tenant_kb;
DROP INDEX idx_lightrag_doc_chunks_tenant;
ALTER TABLE LIGHTRAG_DOC_CHUNKS
    DROP COLUMN kb_id,
    DROP COLUMN tenant_id;

DROP INDEX idx_lightrag_doc_full_tenant_kb;
DROP INDEX idx_lightrag_doc_full_tenant;
ALTER TABLE LIGHTRAG_DOC_FULL
    DROP COLUMN kb_id,
    DROP COLUMN tenant_id;
