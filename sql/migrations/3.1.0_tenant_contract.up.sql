-- Enforce the tenant contract
--
-- The contract at head (SPEC section 4), replacing the defects shipped in 3.0.0:
-- * workspace is 'tenant:kb': tenant_id = the text before the FIRST ':', kb_id = everything
--   after it ('a:b:c' -> ('a', 'b:c')), both non-empty. A workspace without ':' (legacy),
--   with an empty tenant (':b') or an empty kb ('a:', ':') is refused by a CHECK per data
--   table, <table>_workspace_format (SQLSTATE 23514). Whitespace and case are kept.
-- * tenant_id / kb_id keep their names and types (last two columns, STORED) with the new
--   expressions; PostgreSQL 16 has no SET EXPRESSION, so both are dropped and re-added and
--   the 18 tenant indexes of 2.0.0 are re-created with their names.
-- * registration is set-based, once per statement: the row-level BEFORE trigger of 2.1.0 is
--   replaced on every data table by two statement-level triggers,
--   trg_<table>_register_insert (AFTER INSERT) and trg_<table>_register_update (AFTER
--   UPDATE), each REFERENCING NEW TABLE AS new_rows (PostgreSQL allows no transition table
--   on a multi-event trigger, hence two). Both run sync_tenant_from_workspace(), which reads
--   the computed tenant_id / kb_id of the statement's rows and inserts their DISTINCT
--   tenants, then their DISTINCT (tenant, kb), ORDER BY key, ON CONFLICT DO NOTHING.
--   INSERT ... ON CONFLICT DO UPDATE fires both: inserted rows reach the INSERT trigger,
--   updated rows the UPDATE one. Why: registering per row, in the order the rows arrive,
--   made two writers of the same new tenants take the registry keys in different orders,
--   each waiting on the other's uncommitted key (40P01 deadlock detected). Sorted
--   insertion gives every statement the same lock order, so concurrent writers wait for one
--   another and exactly one registers each key. (Only within a statement: a transaction
--   that registers new tenants over several statements in an order another transaction
--   reverses can still deadlock.)
-- * a foreign key <table>_kb_fk from every data table's (tenant_id, kb_id) to
--   knowledge_bases ON DELETE CASCADE makes registration hold by construction: deleting a
--   tenant deletes its knowledge bases, memberships and rows (the cascade acts at once).
--   The key is DEFERRABLE INITIALLY DEFERRED, checked at commit: row-level foreign key
--   checks run at the end of a statement BEFORE its statement-level AFTER triggers, so an
--   immediate key would refuse rows whose knowledge base the trigger is about to register.
-- * the <table>_workspace_format CHECK refuses a bad workspace as its row is written,
--   before anything is registered; the failing statement is undone as a whole.
-- * the registry is re-synced: every (tenant, kb) that existing rows use is registered;
--   entries without rows are kept, except the tenant '' (registered by 3.0.0 for ':kb'
--   workspaces, never produced by the new rule), which is removed with its knowledge bases.
-- * has_tenant_access() fails closed: NULL arguments and unknown roles grant nothing, and a
--   public tenant ("is_public": true, a JSON boolean) grants viewer access only.
-- Existing rows are never dropped or changed: if any row holds a workspace the new rule
-- refuses, the migration stops before changing anything and lists them.

-- 1. Refuse to start while existing data does not fit the new rule. The data tables are
--    locked first, so no writer can add such a row between this check and the CHECKs.
LOCK TABLE
    LIGHTRAG_DOC_FULL,
    LIGHTRAG_DOC_CHUNKS,
    LIGHTRAG_VDB_CHUNKS,
    LIGHTRAG_VDB_ENTITY,
    LIGHTRAG_VDB_RELATION,
    LIGHTRAG_LLM_CACHE,
    LIGHTRAG_DOC_STATUS,
    LIGHTRAG_FULL_ENTITIES,
    LIGHTRAG_FULL_RELATIONS
    IN ACCESS EXCLUSIVE MODE;

DO $precheck$
DECLARE
    v_bad_total BIGINT;
    v_bad_listing TEXT;
    v_member_total BIGINT;
    v_member_listing TEXT;
    v_message TEXT := '';
BEGIN
    WITH bad AS (
            SELECT 1 AS n, 'lightrag_doc_full' AS tbl, workspace, id FROM LIGHTRAG_DOC_FULL
                WHERE NOT (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace))
            UNION ALL SELECT 2 AS n, 'lightrag_doc_chunks' AS tbl, workspace, id FROM LIGHTRAG_DOC_CHUNKS
                WHERE NOT (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace))
            UNION ALL SELECT 3 AS n, 'lightrag_vdb_chunks' AS tbl, workspace, id FROM LIGHTRAG_VDB_CHUNKS
                WHERE NOT (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace))
            UNION ALL SELECT 4 AS n, 'lightrag_vdb_entity' AS tbl, workspace, id FROM LIGHTRAG_VDB_ENTITY
                WHERE NOT (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace))
            UNION ALL SELECT 5 AS n, 'lightrag_vdb_relation' AS tbl, workspace, id FROM LIGHTRAG_VDB_RELATION
                WHERE NOT (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace))
            UNION ALL SELECT 6 AS n, 'lightrag_llm_cache' AS tbl, workspace, id FROM LIGHTRAG_LLM_CACHE
                WHERE NOT (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace))
            UNION ALL SELECT 7 AS n, 'lightrag_doc_status' AS tbl, workspace, id FROM LIGHTRAG_DOC_STATUS
                WHERE NOT (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace))
            UNION ALL SELECT 8 AS n, 'lightrag_full_entities' AS tbl, workspace, id FROM LIGHTRAG_FULL_ENTITIES
                WHERE NOT (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace))
            UNION ALL SELECT 9 AS n, 'lightrag_full_relations' AS tbl, workspace, id FROM LIGHTRAG_FULL_RELATIONS
                WHERE NOT (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace))
        ),
        ranked AS (
            SELECT tbl, workspace, id,
                   row_number() OVER (ORDER BY n, workspace, id) AS rn,
                   count(*) OVER () AS total
            FROM bad
        )
    SELECT max(total),
           string_agg(format('  %s: workspace %L, id %L', tbl, workspace, id), E'\n' ORDER BY rn)
               FILTER (WHERE rn <= 20)
    INTO v_bad_total, v_bad_listing
    FROM ranked;

    IF v_bad_total > 0 THEN
        v_message := format(
            E'3.1.0 refuses workspaces that are not ''tenant:kb'' (a non-empty tenant before '
            'the first '':'' and a non-empty kb after it), but %s existing row(s) have such a workspace%s:\n%s\n'
            'Remedy: update those workspaces to ''tenant:kb'' form (e.g. ''legacy'' -> '
            '''legacy:default''), then run the migration again.',
            v_bad_total,
            CASE WHEN v_bad_total > 20 THEN ' (the first 20 are listed)' ELSE '' END,
            v_bad_listing);
    END IF;

    -- The tenant '' (registered by 3.0.0 for ':kb' workspaces) is removed below; its
    -- memberships would go with it, so they must be dealt with first.
    WITH members AS (
            SELECT user_id, role, row_number() OVER (ORDER BY user_id) AS rn,
                   count(*) OVER () AS total
            FROM user_tenant_memberships
            WHERE tenant_id = ''
        )
    SELECT max(total),
           string_agg(format('  user_id %L, role %L', user_id, role), E'\n' ORDER BY rn)
               FILTER (WHERE rn <= 20)
    INTO v_member_total, v_member_listing
    FROM members;

    IF v_member_total > 0 THEN
        v_message := v_message
            || CASE WHEN v_message <> '' THEN E'\n' ELSE '' END
            || format(
                E'3.1.0 removes the tenant '''' (an empty tenant id, which the new rule never '
                'produces), but %s membership(s) reference it%s:\n%s\n'
                'Remedy: delete those memberships or move them to a real tenant, then run the '
                'migration again.',
                v_member_total,
                CASE WHEN v_member_total > 20 THEN ' (the first 20 are listed)' ELSE '' END,
                v_member_listing);
    END IF;

    IF v_message <> '' THEN
        RAISE EXCEPTION '%', v_message || E'\nNothing was changed: the database is still at 3.0.0.'
            USING ERRCODE = 'check_violation',
                  HINT = 'Fix what is listed above, then run the migration again.';
    END IF;
END;
$precheck$;

-- 2. Registration with the new rule, set-based: one statement-level AFTER INSERT and one
--    AFTER UPDATE trigger per data table replace the row-level BEFORE trigger.
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

DROP TRIGGER trg_lightrag_doc_full_sync_tenant ON LIGHTRAG_DOC_FULL;
DROP TRIGGER trg_lightrag_doc_chunks_sync_tenant ON LIGHTRAG_DOC_CHUNKS;
DROP TRIGGER trg_lightrag_vdb_chunks_sync_tenant ON LIGHTRAG_VDB_CHUNKS;
DROP TRIGGER trg_lightrag_vdb_entity_sync_tenant ON LIGHTRAG_VDB_ENTITY;
DROP TRIGGER trg_lightrag_vdb_relation_sync_tenant ON LIGHTRAG_VDB_RELATION;
DROP TRIGGER trg_lightrag_llm_cache_sync_tenant ON LIGHTRAG_LLM_CACHE;
DROP TRIGGER trg_lightrag_doc_status_sync_tenant ON LIGHTRAG_DOC_STATUS;
DROP TRIGGER trg_lightrag_full_entities_sync_tenant ON LIGHTRAG_FULL_ENTITIES;
DROP TRIGGER trg_lightrag_full_relations_sync_tenant ON LIGHTRAG_FULL_RELATIONS;

CREATE TRIGGER trg_lightrag_doc_full_register_insert
    AFTER INSERT ON LIGHTRAG_DOC_FULL
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_doc_full_register_update
    AFTER UPDATE ON LIGHTRAG_DOC_FULL
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_doc_chunks_register_insert
    AFTER INSERT ON LIGHTRAG_DOC_CHUNKS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_doc_chunks_register_update
    AFTER UPDATE ON LIGHTRAG_DOC_CHUNKS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_chunks_register_insert
    AFTER INSERT ON LIGHTRAG_VDB_CHUNKS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_chunks_register_update
    AFTER UPDATE ON LIGHTRAG_VDB_CHUNKS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_entity_register_insert
    AFTER INSERT ON LIGHTRAG_VDB_ENTITY
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_entity_register_update
    AFTER UPDATE ON LIGHTRAG_VDB_ENTITY
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_relation_register_insert
    AFTER INSERT ON LIGHTRAG_VDB_RELATION
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_vdb_relation_register_update
    AFTER UPDATE ON LIGHTRAG_VDB_RELATION
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_llm_cache_register_insert
    AFTER INSERT ON LIGHTRAG_LLM_CACHE
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_llm_cache_register_update
    AFTER UPDATE ON LIGHTRAG_LLM_CACHE
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_doc_status_register_insert
    AFTER INSERT ON LIGHTRAG_DOC_STATUS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_doc_status_register_update
    AFTER UPDATE ON LIGHTRAG_DOC_STATUS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_full_entities_register_insert
    AFTER INSERT ON LIGHTRAG_FULL_ENTITIES
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_full_entities_register_update
    AFTER UPDATE ON LIGHTRAG_FULL_ENTITIES
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_full_relations_register_insert
    AFTER INSERT ON LIGHTRAG_FULL_RELATIONS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

CREATE TRIGGER trg_lightrag_full_relations_register_update
    AFTER UPDATE ON LIGHTRAG_FULL_RELATIONS
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_tenant_from_workspace();

-- 3. tenant_id / kb_id with the new expressions, the format CHECK, the 18 tenant indexes.

DROP INDEX idx_lightrag_doc_full_tenant_kb;
DROP INDEX idx_lightrag_doc_full_tenant;
ALTER TABLE LIGHTRAG_DOC_FULL
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_DOC_FULL
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    ADD CONSTRAINT lightrag_doc_full_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace));
CREATE INDEX idx_lightrag_doc_full_tenant ON LIGHTRAG_DOC_FULL (tenant_id);
CREATE INDEX idx_lightrag_doc_full_tenant_kb ON LIGHTRAG_DOC_FULL (tenant_id, kb_id);

DROP INDEX idx_lightrag_doc_chunks_tenant_kb;
DROP INDEX idx_lightrag_doc_chunks_tenant;
ALTER TABLE LIGHTRAG_DOC_CHUNKS
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_DOC_CHUNKS
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    ADD CONSTRAINT lightrag_doc_chunks_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace));
CREATE INDEX idx_lightrag_doc_chunks_tenant ON LIGHTRAG_DOC_CHUNKS (tenant_id);
CREATE INDEX idx_lightrag_doc_chunks_tenant_kb ON LIGHTRAG_DOC_CHUNKS (tenant_id, kb_id);

DROP INDEX idx_lightrag_vdb_chunks_tenant_kb;
DROP INDEX idx_lightrag_vdb_chunks_tenant;
ALTER TABLE LIGHTRAG_VDB_CHUNKS
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_VDB_CHUNKS
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    ADD CONSTRAINT lightrag_vdb_chunks_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace));
CREATE INDEX idx_lightrag_vdb_chunks_tenant ON LIGHTRAG_VDB_CHUNKS (tenant_id);
CREATE INDEX idx_lightrag_vdb_chunks_tenant_kb ON LIGHTRAG_VDB_CHUNKS (tenant_id, kb_id);

DROP INDEX idx_lightrag_vdb_entity_tenant_kb;
DROP INDEX idx_lightrag_vdb_entity_tenant;
ALTER TABLE LIGHTRAG_VDB_ENTITY
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_VDB_ENTITY
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    ADD CONSTRAINT lightrag_vdb_entity_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace));
CREATE INDEX idx_lightrag_vdb_entity_tenant ON LIGHTRAG_VDB_ENTITY (tenant_id);
CREATE INDEX idx_lightrag_vdb_entity_tenant_kb ON LIGHTRAG_VDB_ENTITY (tenant_id, kb_id);

DROP INDEX idx_lightrag_vdb_relation_tenant_kb;
DROP INDEX idx_lightrag_vdb_relation_tenant;
ALTER TABLE LIGHTRAG_VDB_RELATION
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_VDB_RELATION
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    ADD CONSTRAINT lightrag_vdb_relation_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace));
CREATE INDEX idx_lightrag_vdb_relation_tenant ON LIGHTRAG_VDB_RELATION (tenant_id);
CREATE INDEX idx_lightrag_vdb_relation_tenant_kb ON LIGHTRAG_VDB_RELATION (tenant_id, kb_id);

DROP INDEX idx_lightrag_llm_cache_tenant_kb;
DROP INDEX idx_lightrag_llm_cache_tenant;
ALTER TABLE LIGHTRAG_LLM_CACHE
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_LLM_CACHE
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    ADD CONSTRAINT lightrag_llm_cache_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace));
CREATE INDEX idx_lightrag_llm_cache_tenant ON LIGHTRAG_LLM_CACHE (tenant_id);
CREATE INDEX idx_lightrag_llm_cache_tenant_kb ON LIGHTRAG_LLM_CACHE (tenant_id, kb_id);

DROP INDEX idx_lightrag_doc_status_tenant_kb;
DROP INDEX idx_lightrag_doc_status_tenant;
ALTER TABLE LIGHTRAG_DOC_STATUS
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_DOC_STATUS
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    ADD CONSTRAINT lightrag_doc_status_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace));
CREATE INDEX idx_lightrag_doc_status_tenant ON LIGHTRAG_DOC_STATUS (tenant_id);
CREATE INDEX idx_lightrag_doc_status_tenant_kb ON LIGHTRAG_DOC_STATUS (tenant_id, kb_id);

DROP INDEX idx_lightrag_full_entities_tenant_kb;
DROP INDEX idx_lightrag_full_entities_tenant;
ALTER TABLE LIGHTRAG_FULL_ENTITIES
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_FULL_ENTITIES
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    ADD CONSTRAINT lightrag_full_entities_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace));
CREATE INDEX idx_lightrag_full_entities_tenant ON LIGHTRAG_FULL_ENTITIES (tenant_id);
CREATE INDEX idx_lightrag_full_entities_tenant_kb ON LIGHTRAG_FULL_ENTITIES (tenant_id, kb_id);

DROP INDEX idx_lightrag_full_relations_tenant_kb;
DROP INDEX idx_lightrag_full_relations_tenant;
ALTER TABLE LIGHTRAG_FULL_RELATIONS
    DROP COLUMN tenant_id,
    DROP COLUMN kb_id;
ALTER TABLE LIGHTRAG_FULL_RELATIONS
    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS (split_part(workspace, ':', 1)) STORED,
    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS (substr(workspace, strpos(workspace, ':') + 1)) STORED,
    ADD CONSTRAINT lightrag_full_relations_workspace_format
        CHECK (strpos(workspace, ':') > 1 AND strpos(workspace, ':') < length(workspace));
CREATE INDEX idx_lightrag_full_relations_tenant ON LIGHTRAG_FULL_RELATIONS (tenant_id);
CREATE INDEX idx_lightrag_full_relations_tenant_kb ON LIGHTRAG_FULL_RELATIONS (tenant_id, kb_id);

-- 4. Re-sync the registry: register what existing rows use; remove what the rule never makes.
DELETE FROM tenants WHERE tenant_id = '';

INSERT INTO tenants (tenant_id, name)
SELECT tenant_id, tenant_id
FROM (
    SELECT tenant_id FROM LIGHTRAG_DOC_FULL
    UNION SELECT tenant_id FROM LIGHTRAG_DOC_CHUNKS
    UNION SELECT tenant_id FROM LIGHTRAG_VDB_CHUNKS
    UNION SELECT tenant_id FROM LIGHTRAG_VDB_ENTITY
    UNION SELECT tenant_id FROM LIGHTRAG_VDB_RELATION
    UNION SELECT tenant_id FROM LIGHTRAG_LLM_CACHE
    UNION SELECT tenant_id FROM LIGHTRAG_DOC_STATUS
    UNION SELECT tenant_id FROM LIGHTRAG_FULL_ENTITIES
    UNION SELECT tenant_id FROM LIGHTRAG_FULL_RELATIONS
) AS used
ON CONFLICT DO NOTHING;

INSERT INTO knowledge_bases (tenant_id, kb_id, name)
SELECT tenant_id, kb_id, kb_id
FROM (
    SELECT tenant_id, kb_id FROM LIGHTRAG_DOC_FULL
    UNION SELECT tenant_id, kb_id FROM LIGHTRAG_DOC_CHUNKS
    UNION SELECT tenant_id, kb_id FROM LIGHTRAG_VDB_CHUNKS
    UNION SELECT tenant_id, kb_id FROM LIGHTRAG_VDB_ENTITY
    UNION SELECT tenant_id, kb_id FROM LIGHTRAG_VDB_RELATION
    UNION SELECT tenant_id, kb_id FROM LIGHTRAG_LLM_CACHE
    UNION SELECT tenant_id, kb_id FROM LIGHTRAG_DOC_STATUS
    UNION SELECT tenant_id, kb_id FROM LIGHTRAG_FULL_ENTITIES
    UNION SELECT tenant_id, kb_id FROM LIGHTRAG_FULL_RELATIONS
) AS used
ON CONFLICT DO NOTHING;

-- 5. Every row's (tenant, kb) is registered, by construction. DEFERRABLE INITIALLY DEFERRED:
--    the registration triggers run after the row-level checks of an immediate key.

ALTER TABLE LIGHTRAG_DOC_FULL
    ADD CONSTRAINT lightrag_doc_full_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE LIGHTRAG_DOC_CHUNKS
    ADD CONSTRAINT lightrag_doc_chunks_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE LIGHTRAG_VDB_CHUNKS
    ADD CONSTRAINT lightrag_vdb_chunks_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE LIGHTRAG_VDB_ENTITY
    ADD CONSTRAINT lightrag_vdb_entity_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE LIGHTRAG_VDB_RELATION
    ADD CONSTRAINT lightrag_vdb_relation_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE LIGHTRAG_LLM_CACHE
    ADD CONSTRAINT lightrag_llm_cache_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE LIGHTRAG_DOC_STATUS
    ADD CONSTRAINT lightrag_doc_status_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE LIGHTRAG_FULL_ENTITIES
    ADD CONSTRAINT lightrag_full_entities_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE LIGHTRAG_FULL_RELATIONS
    ADD CONSTRAINT lightrag_full_relations_kb_fk FOREIGN KEY (tenant_id, kb_id)
        REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED;

-- 6. RBAC fails closed.
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
