"""Step 2, migrate: the session harness, scratch databases and migrated templates, the migrator
and its bookkeeping, and the psql parameters the scripts take."""
