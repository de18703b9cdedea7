"""Two processes that want the same lock at once, and whether they held it in turn."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path


def one_after_the_other(target: Callable[[str, str], None], lock_dir: Path,
                        outs_dir: Path) -> bool:
    """Run ``target(lock_dir, out)`` in two spawned processes started together; each writes
    ``"<start> <end>"`` of its hold to its ``out``. Whether the two holds did not overlap."""
    context = multiprocessing.get_context("spawn")
    outs = [outs_dir / "a", outs_dir / "b"]
    processes = [context.Process(target=target, args=(str(lock_dir), str(o))) for o in outs]
    for p in processes:
        p.start()
    for p in processes:
        p.join(30)
        assert p.exitcode == 0
    (a_start, a_end), (b_start, b_end) = (map(float, o.read_text().split()) for o in outs)
    return a_end <= b_start or b_end <= a_start
