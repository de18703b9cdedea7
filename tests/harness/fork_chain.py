"""A chain written the way a team's multi-tenant LightRAG fork is written (our own SQL, no
third-party text), with each trait that used to trip the harness:

- its own ``schema_migrations (version, description, status, applied_at)``, which its scripts
  create and update themselves;
- scripts with their own ``BEGIN; … COMMIT;`` and psql's ``\\echo``;
- ``-- ====`` decoration above the description;
- seed tenants and knowledge bases inserted by the base migration;
- a ``GRANT`` to a role and a ``uuid_generate_v4()`` default that only a ``setup.sql`` provides.

Its real defects are the seed's: ``SPLIT_PART`` drops the rest of ``'a:b:c'``, ``'legacy'`` is
stored as tenant ``legacy``, kb ``default``.
"""

from __future__ import annotations

from pathlib import Path

# The data tables and the payload column LightRAG writes into each.
TABLES = {
    "lightrag_doc_full": "content TEXT",
    "lightrag_doc_chunks": "content TEXT",
    "lightrag_vdb_chunks": "content TEXT, content_vector vector(:vector_dim)",
    "lightrag_vdb_entity": "content TEXT, content_vector vector(:vector_dim)",
    "lightrag_vdb_relation": "content TEXT, content_vector vector(:vector_dim)",
    "lightrag_llm_cache": "return_value TEXT",
    "lightrag_doc_status": "content_summary VARCHAR(255)",
    "lightrag_full_entities": "entity_names JSONB",
    "lightrag_full_relations": "relation_pairs JSONB",
}
SEED_TENANTS = ("default", "demo")

def setup_script(role: str) -> str:
    """A setup.sql as a team writes one: its application role (idempotent: roles are
    cluster-wide, the script runs once per database) and uuid-ossp's generator."""
    return f"""-- what the chain assumes of its server: a role to grant to, uuid-ossp's generator
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
    CREATE ROLE {role} NOLOGIN;
  END IF;
END
$$;
CREATE OR REPLACE FUNCTION uuid_generate_v4() RETURNS uuid
  LANGUAGE sql AS 'SELECT gen_random_uuid()';
"""


SETUP = setup_script("lightrag_app")


def _base_up() -> str:
    tables = "\n".join(
        f"CREATE TABLE {t} (id VARCHAR(255) NOT NULL, workspace VARCHAR(255) NOT NULL, "
        f"{payload}, PRIMARY KEY (workspace, id));" for t, payload in TABLES.items())
    return f"""-- ==========================================================
-- Base schema of the multi-tenant fork
-- ==========================================================
\\echo creating the base schema
BEGIN;
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS schema_migrations (
    version VARCHAR(50) PRIMARY KEY, description TEXT, status VARCHAR(20) DEFAULT 'pending',
    applied_at TIMESTAMPTZ DEFAULT now());
CREATE TABLE tenants (
    tenant_id VARCHAR(255) PRIMARY KEY, name VARCHAR(255) NOT NULL,
    metadata JSONB DEFAULT '{{}}', created_at TIMESTAMPTZ DEFAULT now());
CREATE TABLE knowledge_bases (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    tenant_id VARCHAR(255) NOT NULL REFERENCES tenants ON DELETE CASCADE,
    kb_id VARCHAR(255) NOT NULL, name VARCHAR(255), UNIQUE (tenant_id, kb_id));
{tables}
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO lightrag_app;
INSERT INTO tenants (tenant_id, name) VALUES ('default', 'Default'), ('demo', 'Demo');
INSERT INTO knowledge_bases (tenant_id, kb_id, name) VALUES
    ('default', 'default', 'Default'), ('demo', 'kb1', 'One'), ('demo', 'kb2', 'Two');
INSERT INTO schema_migrations (version, description, status)
VALUES ('1.0.0', 'base schema', 'completed');
COMMIT;
"""


def _base_down() -> str:
    tables = ", ".join(TABLES)
    return f"""-- drop the base schema
\\echo dropping the base schema
DROP TABLE {tables}, knowledge_bases, tenants, schema_migrations;
"""


def _columns_up() -> str:
    parts = [
        "-- ----------------------------------------------------------",
        "-- tenant columns extracted from workspace, and their indexes",
        "-- ----------------------------------------------------------",
    ]
    for t in TABLES:
        parts += [
            f"ALTER TABLE {t}",
            "    ADD COLUMN tenant_id VARCHAR(255) GENERATED ALWAYS AS",
            "        (SPLIT_PART(workspace, ':', 1)) STORED,",
            "    ADD COLUMN kb_id VARCHAR(255) GENERATED ALWAYS AS",
            "        (CASE WHEN workspace LIKE '%:%' THEN SPLIT_PART(workspace, ':', 2)",
            "              ELSE 'default' END) STORED;",
            f"CREATE INDEX idx_{t}_tenant ON {t} (tenant_id);",
            f"CREATE INDEX idx_{t}_tenant_kb ON {t} (tenant_id, kb_id);",
        ]
    parts.append("INSERT INTO schema_migrations (version, description, status) "
                 "VALUES ('2.0.0', 'tenant columns', 'completed');")
    return "\n".join(parts) + "\n"


def _columns_down() -> str:
    lines = ["-- drop the tenant columns"]
    lines += [f"ALTER TABLE {t} DROP COLUMN kb_id, DROP COLUMN tenant_id;" for t in TABLES]
    lines.append("DELETE FROM schema_migrations WHERE version = '2.0.0';")
    return "\n".join(lines) + "\n"


def _trigger_up() -> str:
    triggers = "\n".join(
        f"CREATE TRIGGER trg_{t}_sync BEFORE INSERT OR UPDATE ON {t}\n"
        "    FOR EACH ROW EXECUTE FUNCTION sync_tenant_from_workspace();" for t in TABLES)
    return f"""-- register tenants and knowledge bases from the workspace
\\echo adding the registration trigger
BEGIN;
CREATE FUNCTION sync_tenant_from_workspace() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_tenant VARCHAR(255) := SPLIT_PART(NEW.workspace, ':', 1);
    v_kb VARCHAR(255) := SPLIT_PART(NEW.workspace, ':', 2);
BEGIN
    IF v_kb = '' THEN
        RETURN NEW;
    END IF;
    INSERT INTO tenants (tenant_id, name) VALUES (v_tenant, v_tenant) ON CONFLICT DO NOTHING;
    INSERT INTO knowledge_bases (tenant_id, kb_id, name) VALUES (v_tenant, v_kb, v_kb)
        ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$;
{triggers}
INSERT INTO schema_migrations (version, description, status)
VALUES ('2.1.0', 'registration trigger', 'completed');
COMMIT;
"""


def _trigger_down() -> str:
    lines = ["-- drop the registration trigger", "\\echo dropping the registration trigger"]
    lines += [f"DROP TRIGGER trg_{t}_sync ON {t};" for t in TABLES]
    lines += ["DROP FUNCTION sync_tenant_from_workspace();",
              "DELETE FROM schema_migrations WHERE version = '2.1.0';"]
    return "\n".join(lines) + "\n"


def write_fork_chain(dest: Path) -> Path:
    """Write the chain as a sql dir (``migrations/`` and ``setup.sql``) under ``dest``."""
    migrations = dest / "migrations"
    migrations.mkdir(parents=True)
    (dest / "setup.sql").write_text(SETUP, encoding="utf-8")
    for name, text in {
        "1.0.0_base.up.sql": _base_up(), "1.0.0_base.down.sql": _base_down(),
        "2.0.0_tenant_columns.up.sql": _columns_up(),
        "2.0.0_tenant_columns.down.sql": _columns_down(),
        "2.1.0_registration.up.sql": _trigger_up(),
        "2.1.0_registration.down.sql": _trigger_down(),
    }.items():
        (migrations / name).write_text(text, encoding="utf-8")
    return dest
