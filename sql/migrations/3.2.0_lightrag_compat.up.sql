-- Tenant contract on every table LightRAG writes
--
-- LightRAG 1.5.x writes 11 tables, not the seed's 9, and names its vector tables after the
-- embedding model (LIGHTRAG_VDB_CHUNKS_<model>_<dim>d). This migration makes the contract of
-- 3.1.0 hold for all of them and keeps LightRAG's start-up from undoing it:
-- * attach_tenant_contract(table) gives a table what 3.1.0 gave the 9: STORED tenant_id /
--   kb_id, the <table>_workspace_format CHECK, the two tenant indexes, the two
--   statement-level registration triggers and the deferred foreign key to knowledge_bases.
--   Object names are tenant_object_name(pattern, table): a name over PostgreSQL's 63 bytes
--   keeps its pattern and shortens the table part with an md5 tag, because a truncated
--   name could make _register_insert and _register_update collide.
-- * LIGHTRAG_ENTITY_CHUNKS and LIGHTRAG_RELATION_CHUNKS are created with LightRAG's columns
--   when missing; when LightRAG created them before this migration, they are adopted with
--   their rows. So is every other table named lightrag_* with workspace and id columns that
--   has no tenant columns yet (the data tables are discovered, not listed).
-- * the vector_suffix parameter (psql: -v vector_suffix=fake_hash_embed_1024d; empty keeps
--   the plain names) renames the 3 vector tables to LIGHTRAG_VDB_*_<suffix>, the names
--   LightRAG looks for, with their constraints, triggers and indexes. Without it, a LightRAG
--   configured with a model name would find the plain tables "legacy" and drop them when
--   empty, or copy them with SELECT * (which fails on generated columns) when not.
-- * an event trigger attaches the contract to every lightrag_* table LightRAG creates later
--   (another embedding model, a new storage), and another one refuses to drop a tenant
--   column, registration trigger, workspace CHECK or tenant foreign key (SQLSTATE 2BP01),
--   so LightRAG's start-up can never remove them silently. A migration that means to drop
--   them runs SET LOCAL schema_kit.allow_tenant_ddl = on first.
-- Tables already under the contract are not touched: this migration never repairs drift.

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
    FOREACH v_pattern IN ARRAY ARRAY['trg_%s_register_insert', 'trg_%s_register_update'] LOOP
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
               AND o.object_identity ~ '^trg_.*_register_(insert|update) on ')
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
