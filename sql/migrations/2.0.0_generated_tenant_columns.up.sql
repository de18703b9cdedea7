-- Add generated columns and indexes
--
-- STORED generated columns tenant_id and kb_id, parsed from workspace ('tenant:kb'),
-- appended to each of the 9 data tables, plus 2 indexes per table (18).
-- As shipped in 3.0.0: a workspace without ':' maps to (workspace, 'default'), and only
-- the first two ':'-separated parts are used.

ALTER TABLE LIGHTRAG_DOC_FULL
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_doc_full_tenant ON LIGHTRAG_DOC_FULL (tenant_id);
CREATE INDEX idx_lightrag_doc_full_tenant_kb ON LIGHTRAG_DOC_FULL (tenant_id, kb_id);

ALTER TABLE LIGHTRAG_DOC_CHUNKS
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_doc_chunks_tenant ON LIGHTRAG_DOC_CHUNKS (tenant_id);
CREATE INDEX idx_lightrag_doc_chunks_tenant_kb ON LIGHTRAG_DOC_CHUNKS (tenant_id, kb_id);

ALTER TABLE LIGHTRAG_VDB_CHUNKS
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_vdb_chunks_tenant ON LIGHTRAG_VDB_CHUNKS (tenant_id);
CREATE INDEX idx_lightrag_vdb_chunks_tenant_kb ON LIGHTRAG_VDB_CHUNKS (tenant_id, kb_id);

ALTER TABLE LIGHTRAG_VDB_ENTITY
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_vdb_entity_tenant ON LIGHTRAG_VDB_ENTITY (tenant_id);
CREATE INDEX idx_lightrag_vdb_entity_tenant_kb ON LIGHTRAG_VDB_ENTITY (tenant_id, kb_id);

ALTER TABLE LIGHTRAG_VDB_RELATION
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_vdb_relation_tenant ON LIGHTRAG_VDB_RELATION (tenant_id);
CREATE INDEX idx_lightrag_vdb_relation_tenant_kb ON LIGHTRAG_VDB_RELATION (tenant_id, kb_id);

ALTER TABLE LIGHTRAG_LLM_CACHE
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_llm_cache_tenant ON LIGHTRAG_LLM_CACHE (tenant_id);
CREATE INDEX idx_lightrag_llm_cache_tenant_kb ON LIGHTRAG_LLM_CACHE (tenant_id, kb_id);

ALTER TABLE LIGHTRAG_DOC_STATUS
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_doc_status_tenant ON LIGHTRAG_DOC_STATUS (tenant_id);
CREATE INDEX idx_lightrag_doc_status_tenant_kb ON LIGHTRAG_DOC_STATUS (tenant_id, kb_id);

ALTER TABLE LIGHTRAG_FULL_ENTITIES
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_full_entities_tenant ON LIGHTRAG_FULL_ENTITIES (tenant_id);
CREATE INDEX idx_lightrag_full_entities_tenant_kb ON LIGHTRAG_FULL_ENTITIES (tenant_id, kb_id);

ALTER TABLE LIGHTRAG_FULL_RELATIONS
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 1) ELSE workspace END) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2) ELSE 'default' END) STORED;
CREATE INDEX idx_lightrag_full_relations_tenant ON LIGHTRAG_FULL_RELATIONS (tenant_id);
CREATE INDEX idx_lightrag_full_relations_tenant_kb ON LIGHTRAG_FULL_RELATIONS (tenant_id, kb_id);
