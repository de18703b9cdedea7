"""The report, fed with JSON that pytest-benchmark itself wrote from a tiny real run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from schema_kit import cli
from schema_kit.bench.report import load_results, main, ratios
from tests.harness.children import child_env

# Two sizes, a query whose 'without' arm does ~100x the work of its 'with' arm, and a write
# whose arms differ less: the shape of the real suite at a size that runs in a second.
TINY_SUITE = '''
import pytest
from schema_kit.bench.report import bench_info

@pytest.mark.parametrize("rows", [1000, 100000])
@pytest.mark.parametrize("variant", ["with", "without"])
def test_query(benchmark, rows, variant):
    benchmark.group = f"kb_chunks @ {rows}"
    benchmark.extra_info.update(bench_info(kind="query", case="kb_chunks", variant=variant,
                                           rows=rows, tenant="small", scope="tenant+kb"))
    work = 200 if variant == "with" else 200 * rows // 1000
    benchmark(sum, range(work))

@pytest.mark.parametrize("variant", ["with", "neither"])
def test_write(benchmark, variant):
    benchmark.extra_info.update(bench_info(kind="write", case="insert_doc_chunks",
                                           variant=variant, rows=1000, tenant="large"))
    benchmark(sum, range(3000 if variant == "with" else 2000))

def test_build(benchmark):
    benchmark.extra_info.update(bench_info(kind="build", case="index_build", variant="build",
                                           rows=1000))
    benchmark.extra_info.update(index_count=18, index_bytes=3 * 2**20)
    benchmark(sum, range(100))
'''


@pytest.fixture(scope="module")
def bench_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny_bench")
    (root / "test_tiny.py").write_text(TINY_SUITE, encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    out = root / "out.json"
    # Only pytest-benchmark is loaded: the tiny suite needs no other plugin and starts
    # faster without the rest.
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "pytest_benchmark.plugin",
         "-p", "no:cacheprovider", "-c", str(root / "pytest.ini"), "--rootdir", str(root),
         str(root / "test_tiny.py"), f"--benchmark-json={out}",
         "--benchmark-min-rounds=20", "--benchmark-max-time=0.02"],
        cwd=root, check=True, capture_output=True, timeout=120,
        env=child_env(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1"),
    )
    return out


def _stats(path: Path, stat: str) -> dict[tuple[str, int, str], float]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for bench in doc["benchmarks"]:
        info = bench["extra_info"]["schema_kit"]
        out[info["case"], info["rows"], info["variant"]] = bench["stats"][stat]
    return out


@pytest.mark.parametrize("stat", ["min", "median"])
def test_table_shows_ratios_per_size_and_writes_a_png(
    bench_json: Path, tmp_path: Path, stat: str
) -> None:
    md = tmp_path / "report.md"
    assert main([str(bench_json), "-o", str(md), "--stat", stat]) == 0
    text = md.read_text(encoding="utf-8")
    png = tmp_path / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "![speedup and write cost vs rows](report.png)" in text

    assert f"Each time is the {stat} of a benchmark's rounds" in text
    med = _stats(bench_json, stat)
    row = next(line for line in text.splitlines() if line.startswith("| kb_chunks | small"))
    cells = re.findall(r"([\d.]+)\u00d7 \(", row)
    assert len(cells) == 2, row  # one cell per size: 1k and 100k
    for cell, rows in zip(cells, (1000, 100000), strict=True):
        expected = med["kb_chunks", rows, "without"] / med["kb_chunks", rows, "with"]
        assert float(cell) == pytest.approx(expected, rel=0.01, abs=0.01)
    assert float(cells[1]) > float(cells[0]) > 0.5  # more work without the index, more gain

    write = next(line for line in text.splitlines() if "| insert_doc_chunks |" in line)
    expected = med["insert_doc_chunks", 1000, "with"] / med["insert_doc_chunks", 1000, "neither"]
    (cell,) = re.findall(r"([\d.]+)\u00d7 \(", write)
    assert float(cell) == pytest.approx(expected, rel=0.01, abs=0.01)
    assert "| 1k | 18 |" in text and "| 3.0 MiB |" in text


def test_ratios_pair_the_arms_of_one_size(bench_json: Path) -> None:
    results = load_results([bench_json])
    speedups = ratios(results, "query", "without")
    assert set(speedups) == {("kb_chunks", "small")}
    assert set(speedups["kb_chunks", "small"]) == {1000, 100000}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ('{"machine_info": {}}', "no 'benchmarks' list"),
        ('{"benchmarks": [{"name": "x", "extra_info": {}, "stats": {"median": 1}}]}',
         "no schema_kit benchmarks"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main([str(path), "--plot", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "p.png").exists()


def test_unknown_option_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--bogus"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_without_matplotlib_the_plot_is_a_one_line_error_naming_the_extra(
    bench_json: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None in sys.modules makes `import matplotlib` fail, as where it is not installed.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    md = tmp_path / "report.md"
    assert cli.main(["bench-report", str(bench_json), "-o", str(md)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "matplotlib" in err and "pip install 'schema-kit[bench]'" in err, err
    assert "--no-plot" in err and not md.exists()
    # The markdown alone needs no matplotlib.
    assert cli.main(["bench-report", str(bench_json), "-o", str(md), "--no-plot"]) == 0
    text = md.read_text(encoding="utf-8")
    assert "| kb_chunks | small" in text and "![" not in text
    assert not (tmp_path / "report.png").exists()


def test_only_bench_report_imports_matplotlib() -> None:
    """The commands (audit, migrate, status ... all behind schema_kit.cli) and the pytest
    plugin run without the [bench] extra: importing them imports no matplotlib."""
    code = (
        "import sys\n"
        "import schema_kit.cli, schema_kit.pytest_plugin, schema_kit.commands.audit\n"
        "import schema_kit.commands.verify\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=child_env(), timeout=120, check=True)
    assert result.stdout.strip() == "[]", result.stdout
