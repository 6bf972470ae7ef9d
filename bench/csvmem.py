"""Peak memory of streaming one CSV export to the end, measured in a fresh process.

`python -m bench.csvmem PATH ROLE` (with DATABASE_URL set to the benchmark database) requests
PATH, reads the streamed body to the end and prints JSON: rows, bytes, seconds, and how far the
resident memory rose above what it was when the response started (Linux: the peak counter is
reset through /proc/self/clear_refs, then VmHWM is read). A fresh process per measurement keeps
earlier work from hiding the export's own peak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .common import ROOT, row, scenario_result

EXPORTS = (
    ("Stock CSV", "staff", "/stock/?_export=csv&warehouse=1", "/stock/?_export=csv"),
    (
        "Reorder suggestions CSV",
        "manager",
        "/reorder/?_export=csv&warehouse=1",
        "/reorder/?_export=csv",
    ),
)
# Flat: the larger export may use at most this much more memory than the smaller one.
FLAT_RATIO = 1.5
FLAT_SLACK_MB = 8.0


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def main(path: str, role: str) -> dict:
    from .common import django_setup

    django_setup(os.environ["DATABASE_URL"])
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    from .seed import MANAGER_USERNAME, STAFF_USERNAME

    setup_test_environment()
    client = Client()
    username = MANAGER_USERNAME if role == "manager" else STAFF_USERNAME
    client.force_login(get_user_model().objects.get(username=username))
    client.get("/", secure=True)  # load templates and code paths before measuring
    started = time.perf_counter()
    response = client.get(path, secure=True)
    baseline_kb = _status_kb("VmRSS")
    reset = _reset_peak()
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    peak_kb = _status_kb("VmHWM")
    return {
        "status": response.status_code,
        "rows": max(0, lines - 1),
        "bytes": size,
        "seconds": round(time.perf_counter() - started, 2),
        "baseline_mb": round(baseline_kb / 1024, 1),
        "peak_mb": round(peak_kb / 1024, 1),
        "rise_mb": round(max(0, peak_kb - baseline_kb) / 1024, 1),
        "peak_reset": reset,
    }


def run_one(url: str, path: str, role: str) -> dict:
    env = dict(os.environ, DATABASE_URL=url)
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bench.csvmem", path, role],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(url: str, log=print) -> dict:
    rows, notes = [], []
    for title, role, small_path, large_path in EXPORTS:
        small = run_one(url, small_path, role)
        large = run_one(url, large_path, role)
        if "error" in small or "error" in large:
            rows.append(row(title, small.get("error") or large.get("error"), "flat", False))
            continue
        flat = large["rise_mb"] <= max(
            small["rise_mb"] * FLAT_RATIO, small["rise_mb"] + FLAT_SLACK_MB
        )
        value = (
            f"{small['rows']:,} rows: +{small['rise_mb']} MB ({small['seconds']} s); "
            f"{large['rows']:,} rows: +{large['rise_mb']} MB ({large['seconds']} s)"
        )
        log(f"  {title}: {value}")
        rows.append(row(title, value, "peak memory flat in the row count", flat))
    notes.append(
        "Each export runs in a fresh process, streamed to the end; the value is how far its "
        "resident memory peaked above where it stood when the response began. One warehouse "
        "against all three warehouses gives the two row counts. Flat means the larger export "
        f"rose by at most {FLAT_RATIO}× (or {FLAT_SLACK_MB:.0f} MB) what the smaller one did."
    )
    return scenario_result("CSV export memory", rows, notes)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
