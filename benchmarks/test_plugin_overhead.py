"""What the plugin costs a pytest run that uses none of its fixtures (it autoloads into every
run of the environment it is installed in).

Both members run the same unrelated project (``tests/harness/plugin/guest_project.py``) in a
child pytest with ``-p no:schema_kit`` and a timing plugin; in ``guest`` the timing plugin
loads schema_kit's plugin as autoload would and charges to it its import, its registration
(options included) and every call of its hooks. Each round is one whole child run, so the
difference of the two members is what the plugin adds to a run, Python's start-up included in
both; ``extra_info`` has the plugin's own in-process seconds per round, the finer figure
(the target: well under 0.3 s). The members alternate round by round, so a drift in the
machine's load reaches both.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest
from tests.harness.plugin.guest_project import project, timed

GROUP = "pytest run of an unrelated project"
ROUNDS = 5


@pytest.fixture(scope="module")
def guest_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = project(tmp_path_factory.mktemp("guest"))
    # Warm-up, outside the timing: bytecode written, page cache filled, for both variants.
    warm = timed(root, root / "times.json", load=True)
    assert {"pytest_addoption", "pytest_configure"} <= set(warm["hooks"]), warm
    timed(root, root / "times.json", load=False)
    return root


@pytest.mark.parametrize("member", ["alone (-p no:schema_kit)", "guest (plugin loaded)"])
def test_plugin_overhead(benchmark: Any, member: str, guest_project: Path) -> None:
    load = member.startswith("guest")
    plugin_s: list[float] = []

    def run() -> None:
        measured = timed(guest_project, guest_project / "times.json", load=load)
        plugin_s.append(measured["plugin"])

    benchmark.group = GROUP
    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    if not load:
        assert plugin_s == [0.0] * ROUNDS  # nothing was charged: the plugin never loaded
    benchmark.extra_info["plugin_own_s"] = plugin_s
    benchmark.extra_info["plugin_own_median_s"] = statistics.median(plugin_s)
