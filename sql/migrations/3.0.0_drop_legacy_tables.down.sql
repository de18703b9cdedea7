-- Revert 3.0.0: recreate the legacy tables (empty) as 1.0.0 defined them

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
