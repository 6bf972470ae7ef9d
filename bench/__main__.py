"""`python -m bench`: seed (or reuse) the benchmark database, measure, write the report.

Order: seeding → check_stock → pages (read-only) → CSV export memory → the scenarios that
change data (release, ordering, load) → report. Environment: BENCH_SIZE (L, S; default L),
BENCH_DATABASE_URL or DATABASE_URL, BENCH_RESEED=1. See README.md, "Benchmarks".
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

from . import common
from .common import BenchError, row, scenario_result


def _log(message: str) -> None:
    print(message, flush=True)


def seeding_section(info: dict, size: common.Size) -> dict:
    counts = info.get("counts", {})
    rows = [
        row(
            "Wall time (COPY of every table)",
            f"{info['seconds']:.0f} s",
            "≤ 600 s" if size.name == "L" else "",
            info["seconds"] <= 600 if size.name == "L" else None,
        ),
        row(
            "Peak memory of the seeding process (ru_maxrss)",
            f"{info['peak_rss_mb']:.0f} MB",
            "≤ 1024 MB" if size.name == "L" else "",
            info["peak_rss_mb"] <= 1024 if size.name == "L" else None,
        ),
        row("VACUUM (ANALYZE) afterwards", f"{info.get('vacuum_seconds', 0):.0f} s"),
        row(
            "Reorder plan of every level refreshed (plan_refresh, this run)",
            f"{info.get('plan_seconds', 0):.1f} s",
        ),
    ]
    rows += [row(f"Rows: {name.replace('_', ' ')}", f"{value:,}") for name, value in counts.items()]
    notes = [f"Seeded {info.get('seeded_at', '?')}."]
    if info.get("reused"):
        notes.append(
            "This run reused the seeded database; the seeding numbers are from the run that "
            "seeded it (BENCH_RESEED=1 seeds again)."
        )
    notes += [f"Phase {name}: {seconds} s" for name, seconds in info.get("phases", [])]
    return scenario_result("Seeding", rows, notes)


def integrity_section() -> dict:
    from backoffice.integrity import stock_discrepancies

    started = time.perf_counter()
    found = stock_discrepancies()
    seconds = time.perf_counter() - started
    rows = [
        row("check_stock discrepancies", f"{len(found)}", "0", not found),
        row("check_stock time", f"{seconds:.1f} s"),
    ]
    notes = [str(item) for item in found[:20]]
    return scenario_result("Data integrity (check_stock)", rows, notes)


def _scenario(name: str, title: str, call) -> dict:
    """Run bench.<name>.measure through `call` if that module exists."""
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as error:
        if error.name == f"bench.{name}":
            return scenario_result(
                title,
                [row(title, "not available", "", None)],
                [f"bench/{name}.py is not there yet."],
            )
        raise
    started = time.perf_counter()
    try:
        result = call(module)
    except Exception as error:  # one failing scenario must not lose the report
        traceback.print_exc()
        return scenario_result(
            title, [row(title, f"failed: {error}", "", False)], ["The scenario raised an error."]
        )
    _log(f"  {result.get('title', title)}: {time.perf_counter() - started:.0f} s")
    return result


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", default=os.environ.get("BENCH_SIZE", "L"))
    parser.add_argument("--database-url", help="benchmark database (default: see README)")
    parser.add_argument("--output", help="report path (default: docs/performance.md at size L)")
    parser.add_argument(
        "--reseed", action="store_true", default=os.environ.get("BENCH_RESEED") == "1"
    )
    parser.add_argument("--repeats", type=int, help="timed requests per page")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["release", "ordering", "load", "csv"],
        help="leave out a part (repeatable)",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> Path:
    size = common.size_get(args.size)
    url = args.database_url or common.bench_database_url(size)
    if not common.is_postgres(url):
        raise BenchError("The benchmark database must be PostgreSQL.")
    repeats = args.repeats or size.repeats
    started = time.perf_counter()
    _log(f"Benchmark size {size.name} in database {common.database_name(url)}")

    from .seed import seed_database

    info = seed_database(size, url, reseed=args.reseed, log=_log)
    sections = [seeding_section(info, size)]
    _log("check_stock…")
    sections.append(integrity_section())

    from . import indexes, pages

    was_reset = indexes.reset()
    _log("Pages…")
    results, ids = pages.measure_pages(repeats=repeats, log=_log)
    _log("EXPLAIN…")
    explain = pages.explain_section(results, log=_log)

    if "csv" not in args.skip:
        _log("CSV export memory…")
        from . import csvmem

        sections.append(csvmem.measure(url, log=_log))

    scenario_size = size.name
    load_users, load_seconds = (50, 60) if size.name == "L" else (5, 10)
    scenarios = (
        ("release", "Release", lambda m: m.measure(size=scenario_size)),
        ("ordering", "Order placement", lambda m: m.measure(size=scenario_size, database_url=url)),
        (
            "load",
            "Load test",
            lambda m: m.measure(database_url=url, users=load_users, seconds=load_seconds),
        ),
    )
    for name, title, call in scenarios:
        if name in args.skip:
            continue
        _log(f"{title}…")
        sections.append(_scenario(name, title, call))

    if "release" not in args.skip:
        _log("Release detail…")
        results += pages.measure_release_detail(repeats=repeats, log=_log)
    page_section = pages.pages_section(results, repeats)
    sections.append(indexes.section(was_reset=was_reset))

    from . import report

    output = Path(args.output) if args.output else report.default_path(size)
    report.write(
        output,
        size=size,
        database_url=url,
        sections=sections,
        pages=page_section,
        explain=explain,
        ids=ids,
        seconds=time.perf_counter() - started,
    )
    _log(f"Report written to {output} ({time.perf_counter() - started:.0f} s in all).")
    return output


def main(argv: list[str] | None = None) -> int:
    try:
        run(parse(sys.argv[1:] if argv is None else argv))
    except BenchError as error:
        print(f"make bench: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
