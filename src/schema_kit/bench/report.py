"""``schema-kit bench-report``: pytest-benchmark JSON → markdown ratio tables + a PNG plot.

Each benchmark of this suite tags itself with ``bench_info(...)`` in ``extra_info``; the report
pairs the arms of one comparison (same case, tenant and data size) and divides one statistic of
their rounds: the median by default, so a few slow rounds (another process on a 2-core
machine, a checkpoint, autovacuum) do not move a ratio, nor does one lucky fast round; the
arms of an identical plan agree within about 10 % this way. ``--stat min`` gives best cases.
Several result files (one per data size) merge into one table with a column per size.

The plot needs matplotlib, from the ``bench`` extra (``pip install 'schema-kit[bench]'``): it
is imported only to draw, so that the rest of schema_kit (the pytest plugin, ``audit``,
``migrate``) never pays for it, and its absence is a one-line error (or ``--no-plot``).
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
_ARMS = {"query": ("with", ("without", "composite_only")),
         "write": ("with", ("neither", "no_indexes", "no_trigger", "composite_only"))}
TIMES = "\u00d7"  # MULTIPLICATION SIGN: a ratio prints as "12.5" + TIMES
NONE = "-"
TARGET = 100.0  # the bar: a small tenant's tenant+kb query at 1M rows


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
    time: float  # seconds: the chosen statistic of the rounds
    extra: dict[str, Any]


class ReportError(Exception):
    """Input the report cannot use; printed as one line, exit code 2."""


def load_results(paths: Sequence[Path], stat: str = "median") -> list[Result]:
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
                                float(bench["stats"][stat]), bench.get("extra_info", {}))
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
    digits = 0 if value >= 100 else 1 if value >= 10 else 2
    return f"{value:.{digits}f}{TIMES}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms" if seconds < 1 else f"{seconds:.2f} s"


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
                a, b = arms[subject].time, arms[other].time
                out.setdefault((case, tenant), {})[rows] = b / a if kind == "query" else a / b
    return out


def _table(title: str, note: str, results: Sequence[Result], kind: str,
           sizes: list[int]) -> list[str]:
    subject, others = _ARMS[kind]
    lines = [f"## {title}", "", note, ""]
    head = ["case", "tenant", "scope", "vs", *(_rows_label(s) + " rows" for s in sizes)]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (case, tenant, scope), by_rows in _pairs(results, kind).items():
        for other in others:
            cells = []
            for size in sizes:
                arms = by_rows.get(size, {})
                if subject in arms and other in arms:
                    a, b = arms[subject].time, arms[other].time
                    cells.append(f"{_ratio(b / a if kind == 'query' else a / b)} "
                                 f"({_ms(a)} vs {_ms(b)})")
                else:
                    cells.append(NONE)
            if all(c == NONE for c in cells):
                continue
            lines.append("| " + " | ".join([case, tenant or NONE, scope or NONE, other, *cells])
                         + " |")
    return [*lines, ""]


def _mib(size: object) -> str:
    return f"{size / 2**20:.1f} MiB" if isinstance(size, int) else NONE


def _span(values: Sequence[float]) -> str:
    if not values:
        return NONE
    low, high = min(values), max(values)
    return _ratio(low) if low == high else f"{_ratio(low)} to {_ratio(high)}"


def _summary(results: Sequence[Result], sizes: list[int]) -> list[str]:
    speedups = ratios(results, "query", "without")
    costs = ratios(results, "write", "neither")
    builds = {r.rows: r for r in results if r.kind == "build"}
    scopes = {(r.case, r.tenant): r.scope for r in results}
    lines = ["## Summary", "", "| rows | small tenant, tenant+kb | large tenant, tenant+kb | "
             "insert cost (with / neither) | index build |", "|---|---|---|---|---|"]
    for size in sizes:
        cells = [_span([v[size] for (case, tenant), v in speedups.items()
                        if tenant == which and size in v and scopes[case, tenant] == "tenant+kb"])
                 for which in ("small", "large")]
        cells.append(_span([v[size] for v in costs.values() if size in v]))
        build = builds.get(size)
        cells.append(f"{_ms(build.time)} ({build.extra.get('index_count', '?')} indexes)"
                     if build else NONE)
        lines.append(f"| {_rows_label(size)} | " + " | ".join(cells) + " |")
    big = [s for s in sizes if s >= 1_000_000]
    small = {c: v[big[-1]] for (c, t), v in speedups.items()
             if big and t == "small" and big[-1] in v and scopes[c, t] == "tenant+kb"}
    if small:
        below = sorted(c for c, r in small.items() if r < TARGET)
        each = ", ".join(f"{c} {_ratio(r)}" for c, r in small.items())
        lines += ["", f"Target: a small tenant's tenant+kb query at least {TARGET:g}{TIMES} "
                  f"faster with the indexes at {_rows_label(big[-1])} rows: "
                  + (f"below it: {', '.join(below)}" if below else "met by every query")
                  + f" ({each})."]
    return [*lines, ""]


def render(results: Sequence[Result], plot_name: str | None = None,
           stat: str = "median") -> str:
    """The markdown report."""
    sizes = sorted({r.rows for r in results})
    out = ["# Tenant index benchmarks", "", f"Each time is the {stat} of a benchmark's rounds; "
           "each ratio divides two of them, measured on the same data in the same run.", ""]
    if plot_name:
        out += [f"![speedup and write cost vs rows]({plot_name})", ""]
    out += _summary(results, sizes)
    if any(r.kind == "query" for r in results):
        out += _table("Speedup from the tenant indexes", "Time of the arm in 'vs' ÷ time "
                      "with all 18 indexes (with vs that arm); > 1 means the indexes that arm "
                      "lacks help. 'without': no tenant index; 'composite_only': only the 9 "
                      "(tenant_id, kb_id) indexes, the 9 (tenant_id) ones dropped.",
                      results, "query", sizes)
    if any(r.kind == "write" for r in results):
        out += _table("Write cost of the indexes and the trigger", "Time with the 18 indexes "
                      "and the trigger ÷ time of the arm in 'vs' (with vs that arm); > 1 means "
                      "writes pay that much more.", results, "write", sizes)
    builds = sorted((r for r in results if r.kind == "build"), key=lambda r: r.rows)
    if builds:
        out += ["## Index build and data load", "",
                "| rows | indexes | build | index size | of it (tenant_id) only | "
                "tables (heap) | load (COPY + VACUUM) |", "|---|---|---|---|---|---|---|"]
        for r in builds:
            load = r.extra.get("load_seconds")
            mib = [_mib(r.extra.get(k)) for k in ("index_bytes", "prefix_index_bytes",
                                                   "table_bytes")]
            loaded = f"{load:.1f} s" if isinstance(load, (int, float)) else NONE
            out.append(f"| {_rows_label(r.rows)} | {r.extra.get('index_count', NONE)} | "
                       f"{_ms(r.time)} | {' | '.join(mib)} | {loaded} |")
        out.append("")
    return "\n".join(out)


INSTALL_BENCH = "pip install 'schema-kit[bench]'"


def _pyplot() -> tuple[Any, Any]:
    """matplotlib's pyplot and FuncFormatter, on a display-less backend; a ReportError saying
    how to install it where it is missing."""
    try:
        import matplotlib
    except ImportError:
        raise ReportError(
            f"the plot needs matplotlib, which is not installed: {INSTALL_BENCH} "
            "(or pass --no-plot for the markdown alone)"
        ) from None
    matplotlib.use("Agg")  # no display on CI or a server
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    return plt, FuncFormatter


def plot(results: Sequence[Result], path: Path) -> None:
    """Speedup (log-log) and write-cost ratios (log x) against data size."""
    plt, FuncFormatter = _pyplot()

    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6))
    series = [(left, ratios(results, "query", "without"), "time without ÷ time with"),
              (right, ratios(results, "write", "neither"), "time with ÷ time without both")]
    for ax, data, label in series:
        # One colour per case, solid for the small tenant and dashed for the large one, so
        # the two tenants of a case read as a pair.
        cases = sorted({case for case, _ in data})
        for (case, tenant), by_rows in sorted(data.items()):
            xs = sorted(by_rows)
            ax.plot(xs, [by_rows[x] for x in xs], "--" if tenant == "large" else "-",
                    marker="o", color=f"C{cases.index(case) % 10}", label=f"{case} [{tenant}]")
        ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.set_xscale("log")
        if ax is left:  # speedups span 1x to 1000x; write costs stay within a few x
            ax.set_yscale("log")
            ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}{TIMES}"))
        ax.set_xlabel("rows loaded (all 9 tables)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        if data:
            ax.legend(fontsize=7, ncol=2, loc="upper left")
    left.axhline(TARGET, color="red", linewidth=0.8, linestyle=":")
    left.set_title("Tenant-filtered queries: speedup from the 18 indexes")
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
    parser.add_argument("--no-plot", action="store_true",
                        help=f"markdown only (the plot needs matplotlib: {INSTALL_BENCH})")
    parser.add_argument("--stat", choices=("median", "min", "mean"), default="median",
                        help="statistic of the rounds to compare (default median)")
    args = parser.parse_args(argv)
    if args.no_plot and args.plot:
        parser.error("--plot and --no-plot exclude each other")
    png: Path = args.plot or (args.output.with_suffix(".png") if args.output
                              else Path("bench-report.png"))
    try:
        results = load_results(args.results, args.stat)
        shown: str | None = None
        if not args.no_plot:
            plot(results, png)
            shown = png.name if args.output and png.parent == args.output.parent else str(png)
        text = render(results, shown, args.stat)
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
