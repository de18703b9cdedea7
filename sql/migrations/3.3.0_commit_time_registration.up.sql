-- Register tenants and knowledge bases at commit, in one sorted pass
--
-- 3.1.0 registers a statement's new tenants and knowledge bases in sorted order, but only
-- within that statement: a transaction that writes new tenants in two statements holds the
-- first statement's registry keys (uncommitted) while it waits for another transaction's,
-- and two such transactions in opposite orders deadlock (40P01). Shrunk (proved by
-- tests/schema/test_schedules.py): s1 writes t1, s2 writes t2, s1 writes t2 (waits), s2
-- writes t1 (deadlock).
-- * tenant_registration_pending (UNLOGGED: only uncommitted transactions' keys live in it)
--   holds, per transaction (xact_id), the (tenant, kb) of every row it wrote. The
--   statement-level triggers of 3.1.0 keep their names and now only stage keys.
-- * register_pending_tenants() registers them at commit: a deferrable, initially deferred
--   row-level constraint trigger "Commit_<table>_register" on every data table. Its name
--   starts with an upper-case letter on purpose: PostgreSQL fires the triggers of one row
--   event in name order (byte order), and the deferred foreign key <table>_kb_fk checks by
--   triggers named RI_ConstraintTrigger_*; ours sorts before them, so a row's knowledge base
--   is registered before its foreign key is checked.
-- * guard_registry_delete() (BEFORE DELETE on tenants and knowledge_bases, per statement)
--   refuses a registry delete while the transaction has keys it has not registered yet
--   (55000): the DELETE could not see them, and commit would register them anyway.
-- * attach_tenant_contract() (tables LightRAG creates later), rename_tenant_table() and the
--   drop guard learn the new trigger.
-- What still waits: a transaction committing a key that another uncommitted transaction
-- deletes (DELETE FROM tenants) waits for it; that is a delete/write conflict on the same
-- tenant, not registration.

-- Lock every table under the contract first, in one pass in name order: below, this script
-- locks tenants and knowledge_bases (their delete guards) and then each data table (its
-- constraint trigger), while a LightRAG writer holds its data table and then waits for the
-- registry; taking the data tables one by one deadlocked with the writers (40P01, measured by
-- the upgrade under load). SHARE ROW EXCLUSIVE is what CREATE TRIGGER takes, so this only
-- moves those waits to the start.
DO $lock$
DECLARE
    v_table TEXT;
BEGIN
    FOR v_table IN
        SELECT c.relname::text
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE t.tgfoid = 'sync_tenant_from_workspace()'::regprocedure
          AND NOT t.tgisinternal
          AND c.relnamespace = current_schema()::regnamespace
        GROUP BY c.relname
        ORDER BY 1
    LOOP
        EXECUTE format('LOCK TABLE %I IN SHARE ROW EXCLUSIVE MODE', v_table);
    END LOOP;
END;
$lock$;

CREATE UNLOGGED TABLE tenant_registration_pending (
    xact_id xid8 NOT NULL,
    tenant_id VARCHAR(255) NOT NULL,
    kb_id VARCHAR(255) NOT NULL,
    CONSTRAINT tenant_registration_pending_pk PRIMARY KEY (xact_id, tenant_id, kb_id)
);

CREATE FUNCTION register_pending_tenants()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_xact xid8 := pg_current_xact_id();
BEGIN
    -- As a deferred row-level constraint trigger on the data tables it fires at commit (or
    -- SET CONSTRAINTS ... IMMEDIATE) once per written row: the first firing registers every
    -- key the transaction staged, in one pass in one global order (tenants sorted, then
    -- knowledge bases sorted), and clears them; the others find nothing staged. Two
    -- committing transactions therefore take registry keys in the same order and wait for
    -- one another instead of deadlocking, and ON CONFLICT DO NOTHING registers each key
    -- once.
    IF NOT EXISTS (SELECT 1 FROM tenant_registration_pending WHERE xact_id = v_xact) THEN
        RETURN NULL;
    END IF;
    INSERT INTO tenants (tenant_id, name)
    SELECT DISTINCT p.tenant_id, p.tenant_id
    FROM tenant_registration_pending AS p
    WHERE p.xact_id = v_xact
    ORDER BY 1
    ON CONFLICT DO NOTHING;
    INSERT INTO knowledge_bases (tenant_id, kb_id, name)
    SELECT p.tenant_id, p.kb_id, p.kb_id
    FROM tenant_registration_pending AS p
    WHERE p.xact_id = v_xact
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    DELETE FROM tenant_registration_pending WHERE xact_id = v_xact;
    RETURN NULL;
END;
$$;

CREATE FUNCTION guard_registry_delete()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_xact xid8 := pg_current_xact_id_if_assigned();
    v_unregistered TEXT;
BEGIN
    -- BEFORE DELETE, per statement, on tenants and knowledge_bases. A key this transaction
    -- staged but has not registered yet is not in the registry this DELETE reads (rows a
    -- BEFORE trigger would insert are not visible to the statement that fired it), so the
    -- DELETE could not take it and commit would register it anyway: refuse instead of
    -- losing the operator's delete. Staged keys that are registered already are dropped from
    -- the stage, so a tenant or kb deleted here does not come back at commit.
    IF v_xact IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(format('%s:%s', p.tenant_id, p.kb_id), ', ' ORDER BY p.tenant_id, p.kb_id)
    INTO v_unregistered
    FROM tenant_registration_pending AS p
    WHERE p.xact_id = v_xact
      AND NOT EXISTS (
          SELECT 1 FROM knowledge_bases AS kb
          WHERE kb.tenant_id = p.tenant_id AND kb.kb_id = p.kb_id
      );
    IF v_unregistered IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format(
                'cannot delete from %I: this transaction wrote into %s, which are registered '
                'only at commit', TG_TABLE_NAME, v_unregistered),
            HINT = 'COMMIT (or SET CONSTRAINTS ALL IMMEDIATE) before deleting from the '
                   'registry, or delete before writing.';
    END IF;
    DELETE FROM tenant_registration_pending WHERE xact_id = v_xact;
    RETURN NULL;
END;
$$;

CREATE TRIGGER trg_tenants_guard_delete
    BEFORE DELETE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION guard_registry_delete();

CREATE TRIGGER trg_knowledge_bases_guard_delete
    BEFORE DELETE ON knowledge_bases
    FOR EACH STATEMENT EXECUTE FUNCTION guard_registry_delete();

CREATE OR REPLACE FUNCTION sync_tenant_from_workspace()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    -- Statement-level AFTER INSERT / AFTER UPDATE trigger: stages the distinct (tenant, kb)
    -- of the statement's rows (transition table new_rows, generated columns computed) for
    -- this transaction. Nothing is registered here, so no registry key is held between
    -- statements; register_pending_tenants() registers them all at commit. Every key is
    -- staged, registered or not: one that another session deletes meanwhile is registered
    -- again at commit instead of the commit failing on the foreign key.
    INSERT INTO tenant_registration_pending (xact_id, tenant_id, kb_id)
    SELECT DISTINCT pg_current_xact_id(), r.tenant_id, r.kb_id
    FROM new_rows AS r
    WHERE r.tenant_id <> '' AND r.kb_id <> ''
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
    EXECUTE format(
        'CREATE CONSTRAINT TRIGGER %I AFTER INSERT OR UPDATE ON %I '
        'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION register_pending_tenants()',
        tenant_object_name('Commit_%s_register', p_table), p_table);
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
    FOREACH v_pattern IN ARRAY ARRAY['trg_%s_register_insert', 'trg_%s_register_update',
                                     'Commit_%s_register'] LOOP
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
               AND o.object_identity ~ '^(trg_.*_register_(insert|update)|"Commit_.*_register") on ')
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

DO $attach$
DECLARE
    v_table TEXT;
BEGIN
    -- Every table under the contract: the ones carrying 3.1.0's registration trigger.
    FOR v_table IN
        SELECT c.relname::text
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE t.tgfoid = 'sync_tenant_from_workspace()'::regprocedure
          AND NOT t.tgisinternal
          AND c.relnamespace = current_schema()::regnamespace
        GROUP BY c.relname
        ORDER BY 1
    LOOP
        EXECUTE format(
            'CREATE CONSTRAINT TRIGGER %I AFTER INSERT OR UPDATE ON %I '
            'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION register_pending_tenants()',
            tenant_object_name('Commit_%s_register', v_table), v_table);
    END LOOP;
END;
$attach$;
