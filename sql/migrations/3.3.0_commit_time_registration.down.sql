-- Revert 3.3.0: registration per statement again, as 3.1.0 and 3.2.0 do it
--
-- Keys staged by transactions still open are lost with the table: run it with no writer
-- connected (as every down script here).

SET LOCAL schema_kit.allow_tenant_ddl = on;

DO $detach$
DECLARE
    v_trigger RECORD;
BEGIN
    FOR v_trigger IN
        SELECT t.tgname::text AS name, c.relname::text AS tbl
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE t.tgfoid = 'register_pending_tenants()'::regprocedure
          AND t.tgconstraint <> 0
        ORDER BY 2
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', v_trigger.name, v_trigger.tbl);
    END LOOP;
END;
$detach$;

CREATE OR REPLACE FUNCTION sync_tenant_from_workspace()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    -- Statement-level AFTER trigger, AFTER INSERT or AFTER UPDATE, with the rows the
    -- statement inserted or updated in the transition table new_rows. In an AFTER trigger
    -- the STORED generated columns are computed, so tenant_id / kb_id are read as stored
    -- (tenant = the text before the first ':', kb = everything after it).
    --
    -- Each tenant and knowledge base is registered once per statement, in sorted order:
    -- every writer then takes the registry's keys in the same order, so concurrent
    -- writers of the same new tenants wait for one another instead of deadlocking, and
    -- ON CONFLICT DO NOTHING makes exactly one of them register each key.
    --
    -- A row without a non-empty tenant and kb registers nothing (the
    -- <table>_workspace_format CHECK has refused such a row before this trigger runs).
    INSERT INTO tenants (tenant_id, name)
    SELECT DISTINCT r.tenant_id, r.tenant_id
    FROM new_rows AS r
    WHERE r.tenant_id <> '' AND r.kb_id <> ''
    ORDER BY 1
    ON CONFLICT DO NOTHING;

    INSERT INTO knowledge_bases (tenant_id, kb_id, name)
    SELECT DISTINCT r.tenant_id, r.kb_id, r.kb_id
    FROM new_rows AS r
    WHERE r.tenant_id <> '' AND r.kb_id <> ''
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;

    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION attach_tenant_contract(p_table TEXT)
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

CREATE OR REPLACE FUNCTION rename_tenant_table(p_old TEXT, p_new TEXT)
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

CREATE OR REPLACE FUNCTION tenant_contract_on_drop()
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

DROP TRIGGER trg_knowledge_bases_guard_delete ON knowledge_bases;
DROP TRIGGER trg_tenants_guard_delete ON tenants;
DROP FUNCTION guard_registry_delete();
DROP FUNCTION register_pending_tenants();
DROP TABLE tenant_registration_pending;
