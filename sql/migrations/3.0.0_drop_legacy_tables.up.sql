-- Drop unused tables
--
-- Drops the 8 legacy tables the LightRAG storage engine never populated (their rows,
-- if any, are lost): documents, entities, relations, embeddings, document_status,
-- kv_storage, lightrag_tenants, lightrag_knowledge_bases.

DROP TABLE kv_storage;
DROP TABLE embeddings;
DROP TABLE relations;
DROP TABLE entities;
DROP TABLE document_status;
DROP TABLE documents;
DROP TABLE lightrag_knowledge_bases;
DROP TABLE lightrag_tenants;
