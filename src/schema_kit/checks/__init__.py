"""Step 5, check: one registry of named checks (``schema_kit.checks.registry``) and the families
it holds: data invariants, access, indexes/plans, round trips, concurrency, migration safety."""
