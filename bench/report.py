"""Write the benchmark report: Markdown for people, JSON beside it for programs.

Size L writes docs/performance.md (kept in git); other sizes write bench/results/ (ignored)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from .common import RESULTS_DIR, ROOT, Size, database_name


def default_path(size: Size) -> Path:
    if size.name == "L":
        return ROOT / "docs" / "performance.md"
    return RESULTS_DIR / f"performance-{size.name}.md"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - git from PATH
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def machine() -> dict:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory": _memory_gib(),
        "postgresql": pg_version,
        "python": platform.python_version(),
        "django": django.get_version(),
    }


def _met(value: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "—"}[value]


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _rows_table(rows: list[dict], headers=("Metric", "Value", "Target", "Met")) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "| --- | --- | --- | --- |"]
    lines += [
        f"| {_cell(r['metric'])} | {_cell(r['value'])} | {_cell(r.get('target') or '')} "
        f"| {_met(r.get('met'))} |"
        for r in rows
    ]
    return lines


def _pages_table(pages: dict) -> list[str]:
    lines = [
        "| Page | Path | Queries | p50 ms | p95 ms | Requests | Target |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for page in pages["pages"]:
        path = page["path"] if len(page["path"]) <= 60 else page["path"][:57] + "…"
        lines.append(
            f"| {_cell(page['page'])} | `{_cell(path)}` | {page['queries']} | {page['p50_ms']} "
            f"| {page['p95_ms']} | {page['requests']} | {_met(page['met'])} |"
        )
    return lines


def _not_met(sections: list[dict], pages: dict) -> list[str]:
    found = []
    for page in pages["pages"]:
        if page["met"]:
            continue
        if page["error"]:
            found.append(f"Page **{page['page']}**: {page['error']}.")
            continue
        reasons = []
        queries = int(str(page["queries"]).split("–")[-1])
        if queries > 15:
            reasons.append(f"{queries} queries (target ≤ 15)")
        if float(page["p50_ms"]) > 200:
            reasons.append(f"p50 {page['p50_ms']} ms (target ≤ 200)")
        if float(page["p95_ms"]) > 400:
            reasons.append(f"p95 {page['p95_ms']} ms (target ≤ 400)")
        slowest = page.get("slowest_query_ms")
        if slowest is not None:
            reasons.append(f"its slowest query took {slowest:.0f} ms (plan below)")
        found.append(f"Page **{page['page']}**: {'; '.join(reasons)}." + _why(page.get("key")))
    found += [
        f"{section['title']}: **{r['metric']}** is {r['value']}"
        + (f" (target {r['target']})." if r.get("target") else ".")
        + _why(r["metric"])
        for section in sections
        for r in section["rows"]
        if r.get("met") is False
    ]
    return found


def _why(key) -> str:
    from .limits import WHY_NOT_MET

    reason = WHY_NOT_MET.get(key or "")
    return f" Why: {reason}" if reason else ""


def render(*, size: Size, facts: dict, sections, pages, explain, ids, seconds) -> str:
    out = [
        "# Backstock performance",
        "",
        "Written by `make bench` (`python -m bench`); see the README's *Benchmarks* section for "
        "what it measures and how to run it. Numbers are from one run on the machine below.",
        "",
        "| | |",
        "| --- | --- |",
        f"| Date | {facts['date']} |",
        f"| Commit | `{facts['commit']}` |",
        f"| Size | {size.name} (scale {size.scale:g} of 100,000 products) |",
        f"| CPU | {facts['cpu']}, {facts['cores']} cores |",
        f"| Memory | {facts['memory']} |",
        f"| PostgreSQL | {facts['postgresql']} |",
        f"| Python / Django | {facts['python']} / {facts['django']} |",
        f"| Benchmark run time | {seconds / 60:.1f} min |",
        "",
    ]
    first, rest = sections[:2], sections[2:]
    for section in first:
        out += [f"## {section['title']}", "", *_rows_table(section["rows"]), ""]
        out += [f"- {note}" for note in section.get("notes", [])] + [""]
    out += [f"## {pages['title']}", "", *_pages_table(pages), ""]
    out += [f"- {note}" for note in pages["notes"]]
    out += [
        "- Measured on: product "
        f"{ids.get('product')}, order {ids.get('order')}, purchase order "
        f"{ids.get('purchase_order')}, supplier {ids.get('supplier')}, shipment "
        f"{ids.get('shipment')} ({len(ids.get('shipment_products') or [])} products).",
        "",
    ]
    for section in rest:
        headers = section.get("headers") or ("Metric", "Value", "Target", "Met")
        out += [f"## {section['title']}", "", *_rows_table(section["rows"], headers), ""]
        out += [f"- {note}" for note in section.get("notes", [])] + [""]
    out += [f"## {explain['title']}", ""]
    out += [
        "Key lines of each plan (node types with the index used, rows, loops and times; costs "
        "left out). The SQL is the one the page ran, captured during the page measurements.",
        "",
    ]
    for plan in explain["plans"]:
        out += [f"### {plan['title']}", ""]
        if plan["note"]:
            out += [plan["note"], ""]
        if plan["sql"]:
            out += ["```sql", plan["sql"], "```", ""]
        if plan["lines"]:
            out += ["```", *plan["lines"], "```", ""]
    not_met = _not_met(sections, pages)
    out += ["## Targets not met", ""]
    out += [f"- {item}" for item in not_met] if not_met else ["Every target was met."]
    return "\n".join(out).rstrip() + "\n"


def write(path: Path, *, size: Size, database_url: str, sections, pages, explain, ids, seconds):
    facts = machine()
    facts["date"] = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts["commit"] = _git_commit()
    facts["database"] = database_name(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        render(
            size=size,
            facts=facts,
            sections=sections,
            pages=pages,
            explain=explain,
            ids=ids,
            seconds=seconds,
        )
    )
    data = {
        "size": size.name,
        "machine": facts,
        "sections": sections,
        "pages": pages,
        "explain": explain,
        "ids": ids,
        "seconds": round(seconds, 1),
    }
    path.with_suffix(".json").write_text(json.dumps(data, indent=2, default=str))
