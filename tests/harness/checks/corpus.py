"""Broken variants of the head migrations, each with the invariant that must catch it.

A mutant is a regex substitution on one file of the packaged sql dir; ``build`` copies the dir
and applies it, failing loudly when the pattern no longer matches (so the corpus cannot rot
silently when the head SQL changes).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from schema_kit.config import default_sql_dir

UP = "migrations/3.1.0_tenant_contract.up.sql"
DOWN = "migrations/3.1.0_tenant_contract.down.sql"
# Registration at commit (3.3.0) replaces 3.1.0's per-statement registration.
REGISTER = "migrations/3.3.0_commit_time_registration.up.sql"
INIT_HEAD = "init-postgres-head.sql"


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str
    pattern: str
    replacement: str
    # Every check named here must catch it (a fuller check catches what its part does).
    caught_by: tuple[str, ...]

    def build(self, dest: Path) -> Path:
        shutil.copytree(default_sql_dir(), dest)
        path = dest / self.file
        text, count = re.subn(self.pattern, self.replacement, path.read_text("utf-8"), count=1)
        if count != 1:
            raise AssertionError(f"mutant {self.name}: pattern not found in {self.file}")
        path.write_text(text, encoding="utf-8")
        return dest


CORPUS = (
    Mutant("trigger_dropped", UP,
           r"CREATE TRIGGER trg_lightrag_doc_chunks_register_insert[^;]*;", "",
           ("registered", "registration")),
    Mutant("trigger_fires_only_on_insert", UP,
           r"CREATE TRIGGER trg_lightrag_doc_full_register_update[^;]*;", "", ("registration",)),
    Mutant("kb_never_registered", REGISTER,
           r"INSERT INTO knowledge_bases \(tenant_id, kb_id, name\)\s+SELECT p\.[^;]*;",
           "", ("registration",)),
    Mutant("no_cascade_on_tenant_delete", UP,
           r"ON DELETE CASCADE(\s+DEFERRABLE INITIALLY DEFERRED)", r"\1", ("registration",)),
    Mutant("split_part_on_the_wrong_part", UP,
           r"split_part\(workspace, ':', 1\)", "split_part(workspace, ':', 2)", ("extraction",)),
    Mutant("kb_cut_at_the_second_colon", UP,
           r"substr\(workspace, strpos\(workspace, ':'\) \+ 1\)", "split_part(workspace, ':', 2)",
           ("partitions_disjoint", "isolation")),
    # Registration back in each statement (3.2.0's timing), the staging left as it is: a
    # statement then holds the registry keys it inserts until COMMIT.
    Mutant("registration_at_each_statement", REGISTER,
           r"(WHERE r\.tenant_id <> '' AND r\.kb_id <> ''\s+ON CONFLICT DO NOTHING;)",
           r"\1 INSERT INTO tenants (tenant_id, name) SELECT DISTINCT r.tenant_id, r.tenant_id "
           r"FROM new_rows AS r WHERE r.tenant_id <> '' ORDER BY 1 ON CONFLICT DO NOTHING; "
           r"INSERT INTO knowledge_bases (tenant_id, kb_id, name) SELECT DISTINCT r.tenant_id, "
           r"r.kb_id, r.kb_id FROM new_rows AS r WHERE r.tenant_id <> '' AND r.kb_id <> '' "
           r"ORDER BY 1, 2 ON CONFLICT DO NOTHING;", ("concurrent_schedules",)),
    Mutant("missing_on_conflict", REGISTER,
           r"ORDER BY 1\s+ON CONFLICT DO NOTHING;", "ORDER BY 1;", ("acceptance",)),
    Mutant("format_check_dropped", UP,
           r",\s+ADD CONSTRAINT lightrag_doc_full_workspace_format\s+CHECK \([^\n]*\);", ";",
           ("bad_input",)),
    Mutant("format_check_refuses_a_colon_in_the_kb", UP,
           r"(ADD CONSTRAINT lightrag_doc_full_workspace_format\s+CHECK \()",
           r"\1workspace NOT LIKE '%:%:%' AND ", ("acceptance",)),
    Mutant("public_tenant_grants_any_role", UP,
           r"RETURN p_required_role = 'viewer'\s+AND EXISTS", "RETURN EXISTS", ("access",)),
    Mutant("unknown_role_passes", UP,
           r"IF v_required IS NULL THEN\s+RETURN false;\s+END IF;",
           "v_required := COALESCE(v_required, 0);", ("access",)),
    Mutant("tenant_indexes_dropped", UP,
           r"CREATE INDEX idx_lightrag_doc_chunks_tenant ON[^;]*;\s*"
           r"CREATE INDEX idx_lightrag_doc_chunks_tenant_kb ON[^;]*;", "", ("indexes_serve",)),
    Mutant("down_forgets_a_column", DOWN,
           r",\s+ADD COLUMN kb_id VARCHAR\(255\) GENERATED ALWAYS AS \(CASE[^\n]*STORED;", ";",
           ("round_trip",)),
    Mutant("down_keeps_the_format_check", DOWN,
           r",\s+DROP CONSTRAINT lightrag_doc_full_workspace_format;", ";", ("round_trip",)),
    Mutant("init_script_drifts_from_chain", INIT_HEAD,
           r"CREATE INDEX idx_lightrag_vdb_entity_tenant_kb ON[^;]*;", "",
           ("init_equals_chain",)),
)

# Registered checks no mutant of the head chain can break on its own, and why.
NOT_MUTATED = {
    "memberships_known": "the deterministic tour writes no memberships; the foreign key with "
    "ON DELETE CASCADE makes an orphan impossible at every version; audit's check of live data",
    "concurrent_registration": "a registration that deadlocks or double-registers shows only "
    "under a particular interleaving: generated schedules, not one fixed mutant",
    "migration_safety": "a measurement reported by verify, not a pass/fail check",
    "upgrade_under_load": "a measurement; what it judges after the upgrade (the data checks "
    "over every row) the mutants of those checks prove, and a lost row needs a chain that "
    "deletes data, which no mutant of the head chain does on its own",
}
