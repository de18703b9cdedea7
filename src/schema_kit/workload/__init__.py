"""Steps 3 and 4, generate and write: the oracle (workspace -> tenant, kb) and the model of what
the tables must hold, table facts, LightRAG-shaped writes, Hypothesis strategies, the write
session that keeps the model in step, the stateful machine and the Hypothesis profiles; the
LightRAG-like data generator, and the upgrade under load (load workers, blocking monitor, row
checksums)."""
