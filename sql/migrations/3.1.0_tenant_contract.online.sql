-- Enforce the tenant contract, online: the same end state as 3.1.0_tenant_contract.up.sql
-- schema_kit: no-transaction
--
-- The plain form rewrites all 9 data tables under ACCESS EXCLUSIVE (PostgreSQL 16 has no
-- SET EXPRESSION, and 17's rewrites too), so LightRAG stops writing for the whole rewrite.
-- This form (`schema-kit migrate --online`, or Migrator(online=True)) reaches the same
-- schema while LightRAG keeps writing, each table in turn behind a short lock only:
--
-- 1. Refuse, as the plain form does, workspaces the new rule refuses and memberships of the
--    tenant ''; and refuse what this form would not carry over: a primary key other than
--    (workspace, id), grants, row security, a dependent view, another owner.
-- 2. Per table, in a transaction of its own (a writer holds one data table at a time, so
--    the migration never holds one lock while waiting for another): the format CHECK, NOT
--    VALID (new rows are refused by the contract from now on), and a row trigger capturing
--    every change into a log table of the side schema tenant_contract_online.
-- 3. Per table, a shadow table in the side schema with the new generated columns and the
--    CHECK, filled by one INSERT ... SELECT (it reads a snapshot and blocks nobody), then
--    its primary key and indexes (the shadow is written by this migration only).
-- 4. The log is replayed into the shadow (each change's last state per key wins; applied
--    entries are deleted, so a change committed late is replayed by a later pass).
-- 5. The swap, per table: ACCESS EXCLUSIVE on the table, the last of the log, the old table
--    moved out (dropped just after, in a transaction of its own), SET SCHEMA the shadow,
--    its statement-level registration triggers. Milliseconds.
-- 6. sync_tenant_from_workspace() gets the new body (no old row-level trigger calls it any
--    more) and the triggers are pointed at it; the registry is re-synced; the foreign keys
--    are added NOT VALID (instant) and validated (SHARE UPDATE EXCLUSIVE: writers go on);
--    has_tenant_access() fails closed; the side schema goes.
--
-- Not all-or-nothing: a failure keeps what was committed. Running the form again first
-- removes what an earlier attempt left (the side schema, the capture triggers), and a table
-- already swapped is not swapped again.

-- 0. What an earlier, interrupted attempt left: CASCADE takes the capture triggers with the
--    side schema's function they run.
DROP SCHEMA IF EXISTS tenant_contract_online CASCADE;

DROP SCHEMA IF EXISTS tenant_contract_retired CASCADE;

-- 1. Refuse what the new rule refuses, and what this form would not carry over.
DO $precheck$
DECLARE
    v_table TEXT;
    v_bad BIGINT;
    v_total BIGINT := 0;
    v_listing TEXT := '';
    v_problems TEXT := '';
    v_members TEXT;
    v_count BIGINT;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['lightrag_doc_full', 'lightrag_doc_chunks',
        'lightrag_vdb_chunks', 'lightrag_vdb_entity', 'lightrag_vdb_relation',
        'lightrag_llm_cache', 'lightrag_doc_status', 'lightrag_full_entities',
        'lightrag_full_relations']
    LOOP
        EXECUTE format(
            'SELECT count(*), string_agg(format(''  %%s: workspace %%L, id %%L'', %L, '
            'workspace, id), E''\n'') FILTER (WHERE n <= 20) FROM (SELECT workspace, id, '
            'row_number() OVER (ORDER BY workspace, id) AS n FROM %I WHERE NOT '
            '(strpos(workspace, '':'') > 1 AND strpos(workspace, '':'') < length(workspace))) b',
            v_table, v_table)
            INTO v_bad, v_members;
        IF v_bad > 0 THEN
            v_total := v_total + v_bad;
            v_listing := v_listing || v_members || E'\n';
        END IF;

        IF (SELECT array_agg(a.attname::TEXT ORDER BY k.ord)
            FROM pg_constraint c
            CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
            WHERE c.conrelid = to_regclass(quote_ident(v_table)) AND c.contype = 'p')
           IS DISTINCT FROM ARRAY['workspace', 'id'] THEN
            v_problems := v_problems || format(E'  %s: its primary key is not (workspace, id)\n',
                                               v_table);
        END IF;
        IF (SELECT relacl IS NOT NULL OR relrowsecurity OR
                   pg_get_userbyid(relowner) <> current_user
            FROM pg_class WHERE oid = to_regclass(quote_ident(v_table))) THEN
            v_problems := v_problems || format(
                E'  %s: it has grants, row security or an owner other than %s\n',
                v_table, current_user);
        END IF;
        SELECT count(*) INTO v_count
        FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
        WHERE d.classid = 'pg_rewrite'::regclass
          AND d.refobjid = to_regclass(quote_ident(v_table)) AND r.ev_class <> d.refobjid;
        IF v_count > 0 THEN
            v_problems := v_problems || format(E'  %s: a view depends on it\n', v_table);
        END IF;
    END LOOP;

    SELECT string_agg(format('  user_id %L, role %L', user_id, role), E'\n' ORDER BY user_id)
    INTO v_members
    FROM user_tenant_memberships WHERE tenant_id = '';

    IF v_total > 0 OR v_members IS NOT NULL OR v_problems <> '' THEN
        RAISE EXCEPTION '%', concat_ws(chr(10),
            CASE WHEN v_total > 0 THEN format(
                '3.1.0 refuses workspaces that are not ''tenant:kb'' (a non-empty tenant '
                'before the first '':'' and a non-empty kb after it), but %s existing row(s) '
                'have such a workspace (at most 20 per table listed):%s%s'
                'Remedy: update those workspaces to ''tenant:kb'' form (e.g. ''legacy'' -> '
                '''legacy:default''), then run the migration again.',
                v_total, chr(10), v_listing) END,
            CASE WHEN v_members IS NOT NULL THEN format(
                '3.1.0 removes the tenant '''' (an empty tenant id, which the new rule never '
                'produces), but memberships reference it:%s%s%sRemedy: delete those '
                'memberships or move them to a real tenant, then run the migration again.',
                chr(10), v_members, chr(10)) END,
            CASE WHEN v_problems <> '' THEN format(
                'The online form of 3.1.0 rebuilds each data table and would not carry '
                'over:%s%sRemedy: run the plain form (without --online), which keeps them.',
                chr(10), v_problems) END,
            'Nothing was changed: the database is still at 3.0.0.')
            USING ERRCODE = 'check_violation',
                  HINT = 'Fix what is listed above, then run the migration again.';
    END IF;
END;
$precheck$;

CREATE SCHEMA tenant_contract_online;

-- Where each old table goes at its swap, until it is dropped.
CREATE SCHEMA tenant_contract_retired;

CREATE FUNCTION tenant_contract_online.data_tables()
RETURNS TEXT[]
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT ARRAY['lightrag_doc_full', 'lightrag_doc_chunks', 'lightrag_vdb_chunks',
                 'lightrag_vdb_entity', 'lightrag_vdb_relation', 'lightrag_llm_cache',
                 'lightrag_doc_status', 'lightrag_full_entities', 'lightrag_full_relations']
$$;

-- A table not yet swapped has its shadow in the side schema.
CREATE FUNCTION tenant_contract_online.pending()
RETURNS SETOF TEXT
LANGUAGE sql
STABLE
AS $$
    SELECT t FROM unnest(tenant_contract_online.data_tables()) AS t
    WHERE to_regclass('tenant_contract_online.' || quote_ident(t)) IS NOT NULL
       OR NOT EXISTS (SELECT 1 FROM pg_constraint c
                      WHERE c.conrelid = to_regclass(quote_ident(t))
                        AND c.conname = t || '_workspace_format' AND c.convalidated)
$$;

-- 2. The CHECK, NOT VALID, and the capture of every change, one table per transaction.
CREATE FUNCTION tenant_contract_online.capture()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    -- The log of table t is tenant_contract_online.t_log; its new_row is of t's row type.
    IF TG_OP = 'INSERT' THEN
        EXECUTE format('INSERT INTO tenant_contract_online.%I (new_row) VALUES ($1)',
                       TG_TABLE_NAME || '_log') USING NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        EXECUTE format('INSERT INTO tenant_contract_online.%I (old_workspace, old_id, new_row) '
                       'VALUES ($1, $2, $3)', TG_TABLE_NAME || '_log')
            USING OLD.workspace, OLD.id, NEW;
    ELSE
        EXECUTE format('INSERT INTO tenant_contract_online.%I (old_workspace, old_id) '
                       'VALUES ($1, $2)', TG_TABLE_NAME || '_log') USING OLD.workspace, OLD.id;
    END IF;
    RETURN NULL;
END;
$$;

DO $capture$
DECLARE
    v_table TEXT;
BEGIN
    FOR v_table IN SELECT tenant_contract_online.pending() LOOP
        -- Done by an attempt that then waited too long for the next table's lock: kept.
        CONTINUE WHEN to_regclass('tenant_contract_online.' || quote_ident(v_table || '_log'))
                      IS NOT NULL;
        -- No autovacuum on the old table from now on (it is dropped at the swap), nor on the
        -- log: one running would hold the swap's ACCESS EXCLUSIVE up past its lock timeout.
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT IF EXISTS %I, ADD CONSTRAINT %I CHECK '
                       '(strpos(workspace, '':'') > 1 AND strpos(workspace, '':'') < '
                       'length(workspace)) NOT VALID, SET (autovacuum_enabled = false)',
                       v_table, v_table || '_workspace_format', v_table || '_workspace_format');
        EXECUTE format('CREATE TABLE tenant_contract_online.%I (log_id BIGINT GENERATED ALWAYS '
                       'AS IDENTITY PRIMARY KEY, old_workspace VARCHAR(255), old_id '
                       'VARCHAR(255), new_row %I) WITH (autovacuum_enabled = false)',
                       v_table || '_log', v_table);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW '
                       'EXECUTE FUNCTION tenant_contract_online.capture()',
                       'trg_' || v_table || '_online_capture', v_table);
        COMMIT;
    END LOOP;
END;
$capture$;

-- 3. The shadows: the columns and CHECKs as they are, tenant_id / kb_id re-added with the
--    new expressions (dropped and added, as the plain form does), the format CHECK; filled,
--    then keyed, in one transaction per table (so a shadow that exists is complete).
DO $shadow$
DECLARE
    v_table TEXT;
    v_columns TEXT;
    v_index RECORD;
BEGIN
    FOR v_table IN SELECT tenant_contract_online.pending() LOOP
        CONTINUE WHEN to_regclass('tenant_contract_online.' || quote_ident(v_table)) IS NOT NULL;
        -- Autovacuum off until the foreign keys are in (the last step turns it back on):
        -- else it starts on the new table at the swap and holds up the DDL after it.
        EXECUTE format('CREATE TABLE tenant_contract_online.%I (LIKE %I INCLUDING DEFAULTS '
                       'INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION '
                       'INCLUDING COMMENTS) WITH (autovacuum_enabled = false)', v_table, v_table);
        EXECUTE format(
            'ALTER TABLE tenant_contract_online.%I DROP COLUMN tenant_id, DROP COLUMN kb_id',
            v_table);
        EXECUTE format(
            'ALTER TABLE tenant_contract_online.%I DROP CONSTRAINT IF EXISTS %I, '
            'ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS '
            '(split_part(workspace, '':'', 1)) STORED, '
            'ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS '
            '(substr(workspace, strpos(workspace, '':'') + 1)) STORED, '
            'ADD CONSTRAINT %I CHECK (strpos(workspace, '':'') > 1 AND '
            'strpos(workspace, '':'') < length(workspace))',
            v_table, v_table || '_workspace_format', v_table || '_workspace_format');
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO v_columns
        FROM pg_attribute
        WHERE attrelid = ('tenant_contract_online.' || quote_ident(v_table))::regclass
          AND attnum > 0 AND NOT attisdropped AND attgenerated = '';
        EXECUTE format('INSERT INTO tenant_contract_online.%I (%s) SELECT %s FROM %I',
                       v_table, v_columns, v_columns, v_table);
        -- The key and every index the table has, by their names (the tenant indexes are
        -- built on the new columns, as the plain form re-creates them).
        FOR v_index IN
            SELECT i.indexrelid, c.relname, con.conname, pg_get_constraintdef(con.oid) AS def
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid
                                       AND con.conrelid = i.indrelid
            WHERE i.indrelid = to_regclass(quote_ident(v_table))
            ORDER BY NOT i.indisprimary, c.relname
        LOOP
            IF v_index.conname IS NOT NULL THEN
                EXECUTE format('ALTER TABLE tenant_contract_online.%I ADD CONSTRAINT %I %s',
                               v_table, v_index.conname, v_index.def);
            ELSE
                EXECUTE regexp_replace(pg_get_indexdef(v_index.indexrelid), ' ON .*? USING ',
                                       format(' ON tenant_contract_online.%I USING ', v_table));
            END IF;
        END LOOP;
        EXECUTE format('ANALYZE tenant_contract_online.%I', v_table);
        COMMIT;
    END LOOP;
END;
$shadow$;

-- 4. Replaying the log: the last state of each key it mentions wins (an UPDATE's new row
--    before its old key, a later entry before an earlier one); applied entries are deleted.
--    Keys whose last state is present are upserted, the others deleted: two disjoint sets,
--    so one statement does both.
CREATE FUNCTION tenant_contract_online.replay(p_table TEXT)
RETURNS BIGINT
LANGUAGE plpgsql
AS $$
DECLARE
    v_columns TEXT;
    v_values TEXT;
    v_updates TEXT;
    v_count BIGINT;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum),
           string_agg('(l.new_row).' || quote_ident(attname), ', ' ORDER BY attnum),
           string_agg(format('%I = EXCLUDED.%I', attname, attname), ', ' ORDER BY attnum)
    INTO v_columns, v_values, v_updates
    FROM pg_attribute
    WHERE attrelid = ('tenant_contract_online.' || quote_ident(p_table))::regclass
      AND attnum > 0 AND NOT attisdropped AND attgenerated = '';
    EXECUTE format(
        'WITH taken AS (DELETE FROM tenant_contract_online.%1$I RETURNING *), '
        'mentions AS ('
        '  SELECT log_id, old_workspace AS workspace, old_id AS id, false AS present, '
        '         NULL::%2$I AS new_row FROM taken WHERE old_workspace IS NOT NULL '
        '  UNION ALL '
        '  SELECT log_id, (new_row).workspace, (new_row).id, true, new_row FROM taken '
        '  WHERE (new_row).workspace IS NOT NULL), '
        'last AS (SELECT DISTINCT ON (workspace, id) * FROM mentions '
        '         ORDER BY workspace, id, log_id DESC, present DESC), '
        'gone AS (DELETE FROM tenant_contract_online.%2$I s USING last '
        '         WHERE NOT last.present AND s.workspace = last.workspace AND s.id = last.id '
        '         RETURNING 1), '
        'put AS (INSERT INTO tenant_contract_online.%2$I (%3$s) SELECT %4$s FROM last l '
        '        WHERE l.present ON CONFLICT (workspace, id) DO UPDATE SET %5$s RETURNING 1) '
        'SELECT (SELECT count(*) FROM taken) + 0 * ((SELECT count(*) FROM gone) + '
        '       (SELECT count(*) FROM put))',
        p_table || '_log', p_table, v_columns, v_values, v_updates)
        INTO v_count;
    RETURN v_count;
END;
$$;

-- The registration of 3.1.0, under a name of its own while the old row-level triggers
-- still call sync_tenant_from_workspace() with 3.0.0's body. Step 6 gives that function
-- this body, copied from here, and drops this one. It is not in the side schema: the
-- tables already swapped keep their triggers when a resumed run drops that schema.
CREATE OR REPLACE FUNCTION tenant_contract_register_rows()
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

-- Two passes while the writers go on: the copy's log, then what came during the first pass.
SELECT tenant_contract_online.replay(t) FROM tenant_contract_online.pending() AS t;

SELECT tenant_contract_online.replay(t) FROM tenant_contract_online.pending() AS t;

-- 5. The swap, one table per transaction, each after catching up with its log.
DO $swap$
DECLARE
    v_table TEXT;
    v_event TEXT;
    v_pass INTEGER;
    v_started TIMESTAMPTZ;
BEGIN
    FOR v_table IN SELECT tenant_contract_online.pending() LOOP
        -- Catch up without the lock until a pass is quick (at most 20 passes): what is left
        -- for the pass under the lock is then what came during that quick pass.
        FOR v_pass IN 1..20 LOOP
            v_started := clock_timestamp();
            PERFORM tenant_contract_online.replay(v_table);
            COMMIT;
            EXIT WHEN clock_timestamp() - v_started < interval '50 milliseconds';
        END LOOP;
        EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', v_table);
        PERFORM tenant_contract_online.replay(v_table);
        -- The old table moves out rather than being dropped here: a DROP's COMMIT unlinks
        -- its files while the lock is still held (0.1 to 0.8 s each at 200k rows). It is
        -- dropped by a transaction of its own, that no one waits for.
        EXECUTE format('DROP TRIGGER %I ON %I', 'trg_' || v_table || '_online_capture', v_table);
        EXECUTE format('ALTER TABLE %I SET SCHEMA tenant_contract_retired', v_table);
        EXECUTE format('ALTER TABLE tenant_contract_online.%I SET SCHEMA %I', v_table,
                       current_schema());
        FOREACH v_event IN ARRAY ARRAY['insert', 'update'] LOOP
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I REFERENCING NEW TABLE AS new_rows '
                           'FOR EACH STATEMENT EXECUTE FUNCTION '
                           'tenant_contract_register_rows()',
                           'trg_' || v_table || '_register_' || v_event, upper(v_event),
                           v_table);
        END LOOP;
        COMMIT;
        EXECUTE format('DROP TABLE tenant_contract_online.%I, tenant_contract_retired.%I',
                       v_table || '_log', v_table);
        COMMIT;
    END LOOP;
END;
$swap$;

-- 6. The registration function by its name, with the body above; the triggers pointed at
--    it, one table per transaction.
DO $register$
BEGIN
    EXECUTE format('CREATE OR REPLACE FUNCTION sync_tenant_from_workspace() RETURNS trigger '
                   'LANGUAGE plpgsql AS %L',
                   (SELECT prosrc FROM pg_proc
                    WHERE oid = 'tenant_contract_register_rows()'::regprocedure));
END;
$register$;

DO $repoint$
DECLARE
    v_table TEXT;
    v_event TEXT;
BEGIN
    FOREACH v_table IN ARRAY tenant_contract_online.data_tables() LOOP
        FOREACH v_event IN ARRAY ARRAY['insert', 'update'] LOOP
            EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I',
                           'trg_' || v_table || '_register_' || v_event, v_table);
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I REFERENCING NEW TABLE AS new_rows '
                           'FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace()',
                           'trg_' || v_table || '_register_' || v_event, upper(v_event),
                           v_table);
        END LOOP;
        COMMIT;
    END LOOP;
END;
$repoint$;

-- The registry re-synced, as the plain form does: what existing rows use is registered; the
-- tenant '' (registered by 3.0.0 for ':kb' workspaces) goes with its knowledge bases.
DELETE FROM tenants WHERE tenant_id = '';

DO $resync$
DECLARE
    v_table TEXT;
BEGIN
    FOREACH v_table IN ARRAY tenant_contract_online.data_tables() LOOP
        EXECUTE format('INSERT INTO tenants (tenant_id, name) SELECT DISTINCT tenant_id, '
                       'tenant_id FROM %I ON CONFLICT DO NOTHING', v_table);
        EXECUTE format('INSERT INTO knowledge_bases (tenant_id, kb_id, name) SELECT DISTINCT '
                       'tenant_id, kb_id, kb_id FROM %I ON CONFLICT DO NOTHING', v_table);
        COMMIT;
    END LOOP;
END;
$resync$;

-- The foreign keys: NOT VALID is instant; VALIDATE takes SHARE UPDATE EXCLUSIVE, which no
-- writer's lock conflicts with.
DO $keys$
DECLARE
    v_table TEXT;
BEGIN
    FOREACH v_table IN ARRAY tenant_contract_online.data_tables() LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_constraint
                              WHERE conrelid = to_regclass(quote_ident(v_table))
                                AND conname = v_table || '_kb_fk' AND convalidated);
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT IF EXISTS %I', v_table,
                       v_table || '_kb_fk');
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (tenant_id, kb_id) '
                       'REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE '
                       'DEFERRABLE INITIALLY DEFERRED NOT VALID', v_table, v_table || '_kb_fk');
        COMMIT;
        EXECUTE format('ALTER TABLE %I VALIDATE CONSTRAINT %I', v_table, v_table || '_kb_fk');
        COMMIT;
    END LOOP;
END;
$keys$;

-- RBAC fails closed (the same function as the plain form's step 6).
CREATE OR REPLACE FUNCTION has_tenant_access(
    p_user_id VARCHAR,
    p_tenant_id VARCHAR,
    p_required_role VARCHAR DEFAULT 'viewer'
)
RETURNS BOOLEAN
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_required INTEGER;
    v_role VARCHAR(32);
BEGIN
    -- Fail closed: a NULL argument, or a required role other than owner, admin, editor,
    -- viewer (exact spelling), grants nothing.
    IF p_user_id IS NULL OR p_tenant_id IS NULL OR p_required_role IS NULL THEN
        RETURN false;
    END IF;

    v_required := CASE p_required_role
                      WHEN 'owner' THEN 4
                      WHEN 'admin' THEN 3
                      WHEN 'editor' THEN 2
                      WHEN 'viewer' THEN 1
                  END;
    IF v_required IS NULL THEN
        RETURN false;
    END IF;

    SELECT m.role INTO v_role
    FROM user_tenant_memberships m
    WHERE m.user_id = p_user_id AND m.tenant_id = p_tenant_id;

    -- A member has what the member's role ranks: owner 4 > admin 3 > editor 2 > viewer 1.
    IF FOUND THEN
        RETURN COALESCE(CASE v_role
                            WHEN 'owner' THEN 4
                            WHEN 'admin' THEN 3
                            WHEN 'editor' THEN 2
                            WHEN 'viewer' THEN 1
                        END, 0) >= v_required;
    END IF;

    -- No membership: read access (viewer) only, and only to a tenant whose metadata holds
    -- "is_public": true as a JSON boolean (a string, number or anything else is not public).
    RETURN p_required_role = 'viewer'
        AND EXISTS (SELECT 1
                    FROM tenants t
                    WHERE t.tenant_id = p_tenant_id
                      AND t.metadata -> 'is_public' = 'true'::jsonb);
END;
$$;

-- Autovacuum back on (SHARE UPDATE EXCLUSIVE: writers go on).
DO $autovacuum$
DECLARE
    v_table TEXT;
BEGIN
    FOREACH v_table IN ARRAY tenant_contract_online.data_tables() LOOP
        EXECUTE format('ALTER TABLE %I RESET (autovacuum_enabled)', v_table);
        COMMIT;
    END LOOP;
END;
$autovacuum$;

DROP FUNCTION tenant_contract_register_rows();

DROP SCHEMA tenant_contract_online CASCADE;

DROP SCHEMA tenant_contract_retired;
