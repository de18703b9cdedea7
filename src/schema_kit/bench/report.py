"""``schema-kit bench-report``: pytest-benchmark JSON → markdown ratio tables + a PNG plot.

Each benchmark of this suite tags itself with ``bench_info(...)`` in ``extra_info``; the report
pairs the arms of one comparison (same case, tenant and data size) and divides their medians.
The median, not the mean: one slow round (a checkpoint, autovacuum) should not move a ratio.
Several result files (one per data size) merge into one table with a column per size.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["Result", "bench_info", "load_results", "main", "plot", "render"]

KEY = "schema_kit"
# kind -> (arm that is the subject, arms it is compared against), ratio = other / subject for
# "query" (how much slower without the indexes) and subject / other for "write" (how much the
# indexes and trigger cost).
_ARMS = {"query": ("with", ("without",)), "write": ("with", ("neither", "no_indexes", "no_trigger"))}


def bench_info(*, kind: str, case: str, variant: str, rows: int, tenant: str = "",
               scope: str = "") -> dict[str, Any]:
    """What a benchmark puts under ``extra_info['schema_kit']`` so the report can pair it."""
    return {KEY: {"kind": kind, "case": case, "variant": variant, "rows": rows,
                  "tenant": tenant, "scope": scope}}


@dataclass(frozen=True)
class Result:
    kind: str
    case: str
    tenant: str
    scope: str
    variant: str
    rows: int
    median: float
    extra: dict[str, Any]


class ReportError(Exception):
    """Input the report cannot use; printed as one line, exit code 2."""


def load_results(paths: Sequence[Path]) -> list[Result]:
    """The tagged benchmarks of every file; a later file wins for the same arm and size."""
    found: dict[tuple[str, str, str, str, int], Result] = {}
    for path in paths:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ReportError(f"{path} is not JSON ({exc})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
            raise ReportError(f"{path} has no 'benchmarks' list: not pytest-benchmark JSON "
                              "(write it with --benchmark-json=FILE)")
        for bench in doc["benchmarks"]:
            info = (bench.get("extra_info") or {}).get(KEY)
            if not isinstance(info, dict):
                continue
            try:
                result = Result(str(info["kind"]), str(info["case"]), str(info["tenant"]),
                                str(info["scope"]), str(info["variant"]), int(info["rows"]),
                                float(bench["stats"]["median"]), bench.get("extra_info", {}))
            except (KeyError, TypeError, ValueError) as exc:
                raise ReportError(f"{path}: benchmark {bench.get('name')!r} lacks {exc}") from None
            found[result.kind, result.case, result.tenant, result.variant, result.rows] = result
    if not found:
        raise ReportError("no schema_kit benchmarks in " + ", ".join(map(str, paths))
                          + " (run `pytest --benchmark-only --benchmark-json=FILE`)")
    return list(found.values())


def _rows_label(rows: int) -> str:
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if rows >= div and rows % (div // 10) == 0:
            return f"{rows / div:g}{unit}"
    return str(rows)


def _ratio(value: float) -> str:
    return f"{value:.0f}×" if value >= 100 else f"{value:.1f}×" if value >= 10 else f"{value:.2f}×"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms" if seconds < 10 else f"{seconds:.1f} s"


Pairs = dict[tuple[str, str, str], dict[int, dict[str, Result]]]


def _pairs(results: Sequence[Result], kind: str) -> Pairs:
    out: Pairs = defaultdict(lambda: defaultdict(dict))
    for r in results:
        if r.kind == kind:
            out[r.case, r.tenant, r.scope][r.rows][r.variant] = r
    return out


def ratios(results: Sequence[Result], kind: str, other: str) -> dict[tuple[str, str], dict[int,
                                                                                         float]]:
    """``{(case, tenant): {rows: ratio}}`` for every size that has both arms."""
    subject = _ARMS[kind][0]
    out: dict[tuple[str, str], dict[int, float]] = {}
    for (case, tenant, _scope), by_rows in _pairs(results, kind).items():
        for rows, arms in by_rows.items():
            if subject in arms and other in arms:
                a, b = arms[subject].median, arms[other].median
                out.setdefault((case, tenant), {})[rows] = b / a if kind == "query" else a / b
    return out


def _table(title: str, note: str, results: Sequence[Result], kind: str, sizes: list[int]) -> list[str]:
    subject, others = _ARMS[kind]
    lines = [f"## {title}", "", note, ""]
    head = ["case", "tenant", "scope", *(["vs"] if kind == "write" else []),
            *(_rows_label(s) + " rows" for s in sizes)]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (case, tenant, scope), by_rows in _pairs(results, kind).items():
        for other in others:
            cells = []
            for size in sizes:
                arms = by_rows.get(size, {})
                if subject in arms and other in arms:
                    a, b = arms[subject].median, arms[other].median
                    cells.append(f"{_ratio(b / a if kind == 'query' else a / b)} "
                                 f"({_ms(a)} vs {_ms(b)})")
                else:
                    cells.append("–")
            if all(c == "–" for c in cells):
                continue
            lines.append("| " + " | ".join([case, tenant or "–", scope or "–",
                                             *([other] if kind == "write" else []), *cells]) + " |")
    return [*lines, ""]


def render(results: Sequence[Result], plot_name: str | None = None) -> str:
    """The markdown report."""
    sizes = sorted({r.rows for r in results})
    out = ["# Tenant index benchmarks", ""]
    if plot_name:
        out += [f"![speedup and write cost vs rows]({plot_name})", ""]
    if any(r.kind == "query" for r in results):
        out += _table("Speedup from the tenant indexes", "Median without the indexes ÷ median "
                      "with them (median with vs without); > 1 means the indexes help.",
                      results, "query", sizes)
    if any(r.kind == "write" for r in results):
        out += _table("Write cost of the indexes and the trigger", "Median with the 18 indexes "
                      "and the trigger ÷ median of the arm in 'vs' (with vs that arm); > 1 means "
                      "writes pay that much more.", results, "write", sizes)
    builds = sorted((r for r in results if r.kind == "build"), key=lambda r: r.rows)
    if builds:
        out += ["## Index build time", "", "| rows | indexes | build (median) | size |",
                "|---|---|---|---|"]
        for r in builds:
            size = r.extra.get("index_bytes")
            mib = f"{size / 2**20:.1f} MiB" if isinstance(size, int) else "–"
            out.append(f"| {_rows_label(r.rows)} | {r.extra.get('index_count', '–')} | "
                       f"{_ms(r.median)} | {mib} |")
        out.append("")
    return "\n".join(out)


def plot(results: Sequence[Result], path: Path) -> None:
    """Speedup and write-cost ratios against data size, both axes logarithmic."""
    import matplotlib

    matplotlib.use("Agg")  # no display on CI or a server
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    series = [(left, ratios(results, "query", "without"), "speedup (without ÷ with)"),
              (right, ratios(results, "write", "neither"),
               "write cost (with ÷ without indexes and trigger)")]
    for ax, data, label in series:
        for (case, tenant), by_rows in sorted(data.items()):
            xs = sorted(by_rows)
            style = "-" if tenant != "large" else "--"
            ax.plot(xs, [by_rows[x] for x in xs], style, marker="o", label=f"{case} [{tenant}]")
        ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows loaded (all 9 tables)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        if data:
            ax.legend(fontsize=7)
    left.set_title("Tenant-filtered queries: time without ÷ with the indexes")
    right.set_title("Batched inserts: cost of the indexes + trigger")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="schema-kit bench-report",
                     description="Turn pytest-benchmark JSON into a markdown ratio table + PNG")
    parser.add_argument("results", nargs="+", type=Path, help="--benchmark-json files")
    parser.add_argument("-o", "--output", type=Path, help="markdown file (default: stdout)")
    parser.add_argument("--plot", type=Path,
                        help="PNG file (default: next to --output, else bench-report.png)")
    args = parser.parse_args(argv)
    png: Path = args.plot or (args.output.with_suffix(".png") if args.output
                              else Path("bench-report.png"))
    try:
        results = load_results(args.results)
        plot(results, png)
        text = render(results, png.name if args.output and png.parent == args.output.parent
                      else str(png))
        if args.output:
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    except (ReportError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
