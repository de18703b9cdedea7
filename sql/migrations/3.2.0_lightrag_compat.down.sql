-- Revert 3.2.0: the plain vector table names, the 9 data tables of 3.1.0, no event triggers
--
-- Run with the vector_suffix the up ran with. The vector tables get their plain names back
-- with their rows. Every other table under the contract (LIGHTRAG_ENTITY_CHUNKS,
-- LIGHTRAG_RELATION_CHUNKS, tables LightRAG created later) is dropped when empty; one that
-- holds rows keeps them and loses only the contract, as LightRAG itself would have it at
-- 3.1.0, and the up adopts it again.

DROP EVENT TRIGGER schema_kit_tenant_contract_on_drop;
DROP EVENT TRIGGER schema_kit_tenant_contract_on_create;

SELECT rename_vector_tables(:'vector_suffix', '');

DO $detach$
DECLARE
    v_table TEXT;
    v_has_rows BOOLEAN;
BEGIN
    FOR v_table IN
        SELECT c.relname::text
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid
        WHERE c.relnamespace = current_schema()::regnamespace
          AND c.relkind = 'r'
          AND a.attname = 'tenant_id' AND a.attgenerated = 's' AND NOT a.attisdropped
          AND c.relname NOT IN ('lightrag_doc_full', 'lightrag_doc_chunks',
                                'lightrag_vdb_chunks', 'lightrag_vdb_entity',
                                'lightrag_vdb_relation', 'lightrag_llm_cache',
                                'lightrag_doc_status', 'lightrag_full_entities',
                                'lightrag_full_relations')
        ORDER BY 1
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', v_table) INTO v_has_rows;
        IF NOT v_has_rows THEN
            EXECUTE format('DROP TABLE %I', v_table);
            CONTINUE;
        END IF;
        RAISE NOTICE '% keeps its rows without the tenant contract (3.1.0 does not cover it)',
            v_table;
        EXECUTE format('DROP TRIGGER %I ON %I',
                       tenant_object_name('trg_%s_register_insert', v_table), v_table);
        EXECUTE format('DROP TRIGGER %I ON %I',
                       tenant_object_name('trg_%s_register_update', v_table), v_table);
        -- The tenant indexes and the foreign key go with the columns.
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I, DROP COLUMN tenant_id, '
                       'DROP COLUMN kb_id',
                       v_table, tenant_object_name('%s_workspace_format', v_table));
    END LOOP;
END;
$detach$;

DROP FUNCTION tenant_contract_on_drop();
DROP FUNCTION tenant_contract_on_create();
DROP FUNCTION rename_vector_tables(TEXT, TEXT);
DROP FUNCTION rename_tenant_table(TEXT, TEXT);
DROP FUNCTION tenant_contract_candidates();
DROP FUNCTION attach_tenant_contract(TEXT);
DROP FUNCTION tenant_object_name(TEXT, TEXT);
