-- Initial schema with LIGHTRAG_* tables
--
-- 19 tables: the 9 LIGHTRAG_* data tables (columns as upstream LightRAG's PostgreSQL
-- storage, keyed by (workspace, id)), the tenant registry (tenants, knowledge_bases)
-- and 8 legacy tables that 3.0.0 drops. The VECTOR dimension is the vector_dim
-- parameter (psql variable; the migrator substitutes an integer).

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE LIGHTRAG_DOC_FULL (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    doc_name VARCHAR(1024),
    content TEXT,
    meta JSONB,
    create_time TIMESTAMP(0),
    update_time TIMESTAMP(0),
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
    CONSTRAINT lightrag_doc_status_pk PRIMARY KEY (workspace, id)
);

CREATE TABLE LIGHTRAG_FULL_ENTITIES (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    entity_names JSONB,
    count INTEGER,
    create_time TIMESTAMP(0),
    update_time TIMESTAMP(0),
    CONSTRAINT lightrag_full_entities_pk PRIMARY KEY (workspace, id)
);

CREATE TABLE LIGHTRAG_FULL_RELATIONS (
    id VARCHAR(255) NOT NULL,
    workspace VARCHAR(255) NOT NULL,
    relation_pairs JSONB,
    count INTEGER,
    create_time TIMESTAMP(0),
    update_time TIMESTAMP(0),
    CONSTRAINT lightrag_full_relations_pk PRIMARY KEY (workspace, id)
);

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

-- Older tenant registry, superseded by tenants / knowledge_bases.
CREATE TABLE lightrag_tenants (
    tenant_id VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
    is_active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT lightrag_tenants_pk PRIMARY KEY (tenant_id)
);

CREATE TABLE lightrag_knowledge_bases (
    tenant_id VARCHAR(255) NOT NULL,
    kb_id VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT lightrag_knowledge_bases_pk PRIMARY KEY (tenant_id, kb_id),
    CONSTRAINT lightrag_knowledge_bases_tenant_fk FOREIGN KEY (tenant_id)
        REFERENCES lightrag_tenants (tenant_id) ON DELETE CASCADE
);

-- Normalised per-tenant storage that the LightRAG storage engine never populated.
CREATE TABLE documents (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    tenant_id VARCHAR(255) NOT NULL,
    kb_id VARCHAR(255) NOT NULL,
    title VARCHAR(1024),
    content TEXT,
    file_path TEXT,
    content_hash CHAR(64),
    metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT documents_pk PRIMARY KEY (id),
    CONSTRAINT documents_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
);
CREATE INDEX idx_documents_tenant_kb ON documents (tenant_id, kb_id);

CREATE TABLE document_status (
    document_id UUID NOT NULL,
    tenant_id VARCHAR(255) NOT NULL,
    kb_id VARCHAR(255) NOT NULL,
    status VARCHAR(64) NOT NULL DEFAULT 'pending',
    chunks_count INTEGER NOT NULL DEFAULT 0,
    error_msg TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT document_status_pk PRIMARY KEY (document_id),
    CONSTRAINT document_status_document_fk FOREIGN KEY (document_id)
        REFERENCES documents (id) ON DELETE CASCADE,
    CONSTRAINT document_status_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE,
    CONSTRAINT document_status_status_check
        CHECK (status IN ('pending', 'processing', 'processed', 'failed'))
);
CREATE INDEX idx_document_status_tenant_kb_status ON document_status (tenant_id, kb_id, status);

CREATE TABLE entities (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    tenant_id VARCHAR(255) NOT NULL,
    kb_id VARCHAR(255) NOT NULL,
    entity_name VARCHAR(512) NOT NULL,
    entity_type VARCHAR(128),
    description TEXT,
    source_document_id UUID,
    metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT entities_pk PRIMARY KEY (id),
    CONSTRAINT entities_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE,
    CONSTRAINT entities_source_document_fk FOREIGN KEY (source_document_id)
        REFERENCES documents (id) ON DELETE SET NULL,
    CONSTRAINT entities_name_key UNIQUE (tenant_id, kb_id, entity_name)
);
CREATE INDEX idx_entities_source_document ON entities (source_document_id);

CREATE TABLE relations (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    tenant_id VARCHAR(255) NOT NULL,
    kb_id VARCHAR(255) NOT NULL,
    source_entity_id UUID NOT NULL,
    target_entity_id UUID NOT NULL,
    relation_type VARCHAR(128),
    description TEXT,
    weight DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT relations_pk PRIMARY KEY (id),
    CONSTRAINT relations_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE,
    CONSTRAINT relations_source_entity_fk FOREIGN KEY (source_entity_id)
        REFERENCES entities (id) ON DELETE CASCADE,
    CONSTRAINT relations_target_entity_fk FOREIGN KEY (target_entity_id)
        REFERENCES entities (id) ON DELETE CASCADE
);
CREATE INDEX idx_relations_tenant_kb ON relations (tenant_id, kb_id);
CREATE INDEX idx_relations_source_entity ON relations (source_entity_id);
CREATE INDEX idx_relations_target_entity ON relations (target_entity_id);

CREATE TABLE embeddings (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    tenant_id VARCHAR(255) NOT NULL,
    kb_id VARCHAR(255) NOT NULL,
    source_type VARCHAR(32) NOT NULL,
    source_id VARCHAR(255) NOT NULL,
    model VARCHAR(128),
    embedding VECTOR(:vector_dim),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT embeddings_pk PRIMARY KEY (id),
    CONSTRAINT embeddings_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE,
    CONSTRAINT embeddings_source_type_check
        CHECK (source_type IN ('chunk', 'entity', 'relation')),
    CONSTRAINT embeddings_source_key UNIQUE (tenant_id, kb_id, source_type, source_id)
);

CREATE TABLE kv_storage (
    tenant_id VARCHAR(255) NOT NULL,
    kb_id VARCHAR(255) NOT NULL,
    namespace VARCHAR(255) NOT NULL,
    storage_key VARCHAR(255) NOT NULL,
    storage_value JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT kv_storage_pk PRIMARY KEY (tenant_id, kb_id, namespace, storage_key),
    CONSTRAINT kv_storage_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
);
