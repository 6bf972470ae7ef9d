"""Load test: gunicorn on PostgreSQL with simulated staff (locust, headless, loopback only).

`measure(database_url=..., users=..., seconds=...)` takes an already migrated and seeded
PostgreSQL database and:

1. resets the demo accounts (`manage.py demo_accounts --force`) and picks SKUs to order;
2. starts gunicorn on a free loopback port with production settings (DJANGO_DEBUG=0, a throwaway
   secret key; HTTPS redirects and secure-only cookies off, since the traffic is plain HTTP on
   127.0.0.1) and waits for /healthz;
3. runs bench/locustfile.py headless: `users` staff browsing, placing orders, receiving and
   confirming releases for `seconds`, with a hard cap on the number of requests;
4. stops the server and runs `manage.py check_stock`, which must find nothing.

It returns the report section {"title", "rows", "notes"}; `python -m bench.load` prints it (and
writes it with --json). Nothing here imports Django: the server and the commands run in their own
processes, so the caller's own Django set-up does not matter.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
ACCOUNTS = [["staff", "staff-demo-1"], ["manager", "manager-demo-1"]]
# A request cap on top of the time limit: far above what 50 users reach in 60 s on this machine.
MAX_REQUESTS = 50_000
SERVER_START_SECONDS = 60


def row(metric: str, value, target: str = "", met: bool | None = None) -> dict:
    return {"metric": metric, "value": value, "target": target, "met": met}


def _is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in {"postgres", "postgresql", "pgsql"}


def server_environment(database_url: str) -> dict[str, str]:
    """The app server's environment: production settings on plain loopback HTTP."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "BACKSTOCK_")) and key != "DATABASE_URL"
    }
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="bench.load_settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_SECURE_HSTS_SECONDS="0",
        DJANGO_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def manage(*args: str, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# Sessions opened beforehand (no password hashing), one per simulated user; printed as
# "session <cookie name> <key>" lines.
SESSIONS_SCRIPT = """
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
names = {names!r}
users = {{user.username: user for user in get_user_model().objects.filter(username__in=names)}}
for index in range({count}):
    client = Client()
    client.force_login(users[names[index % len(names)]])
    print("session", settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
"""


def sessions_open(count: int, env: dict[str, str]) -> list[list[str]]:
    """[cookie name, session key] pairs for signed-in demo accounts."""
    script = SESSIONS_SCRIPT.format(names=[name for name, _ in ACCOUNTS], count=count)
    done = manage("shell", "-c", script, env=env)
    if done.returncode:
        raise RuntimeError(f"opening sessions failed:\n{done.stderr[-2000:]}")
    return [line.split()[1:3] for line in done.stdout.splitlines() if line.startswith("session ")]


def customer_numbers(database_url: str, limit: int = 200) -> list[int]:
    """Numbers of active customers, for the clerks to type into the order form's look-up."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT id FROM orders_customer WHERE is_active ORDER BY random() LIMIT %s", [limit]
        ).fetchall()
    return [number for (number,) in rows]


def skus_to_order(database_url: str, limit: int = 500) -> list[str]:
    import psycopg

    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT sku FROM inventory_product WHERE is_active ORDER BY random() LIMIT %s",
            [limit],
        ).fetchall()
    return [sku for (sku,) in rows]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(base_url: str, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not answer /healthz in {SERVER_START_SECONDS} s")


def stop(process: subprocess.Popen, *, grace: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stats(stats_csv: Path) -> list[dict]:
    """locust's rows: one per page name, then the "Aggregated" one."""
    if not stats_csv.exists():
        return []
    with stats_csv.open(newline="") as file:
        return list(csv.DictReader(file))


@dataclass
class LoadResult:
    users: int
    seconds: int
    workers: int
    elapsed: float
    pages: list[dict]  # locust's stats rows, the last one "Aggregated"
    statuses: dict[int, int]
    server_errors_by_page: dict[str, int]
    actions: dict[str, dict[str, int]]  # kind → {"tried": n, "ok": n}
    failures_text: str
    check_stock_clean: bool
    check_stock_output: str
    server_tracebacks: str

    @property
    def totals(self) -> dict:
        return next((line for line in self.pages if line.get("Name") == "Aggregated"), {})

    @property
    def requests(self) -> int:
        return int(self.totals.get("Request Count") or 0)

    @property
    def failures(self) -> int:
        return int(self.totals.get("Failure Count") or 0)

    @property
    def server_errors(self) -> int:
        return sum(count for code, count in self.statuses.items() if code >= 500)

    def succeeded(self, kind: str) -> int:
        return self.actions.get(kind, {}).get("ok", 0)


def run_load(
    *, database_url: str, users: int = 50, seconds: int = 60, workers: int = 4, log=print
) -> LoadResult:
    """Run the load test against a migrated, seeded PostgreSQL database."""
    if not _is_postgres(database_url):
        raise ValueError("The load test runs against PostgreSQL only.")
    users, seconds = max(1, int(users)), max(5, int(seconds))
    env = server_environment(database_url)
    with tempfile.TemporaryDirectory(prefix="backstock-load-") as tmp:
        work = Path(tmp)
        accounts = manage("demo_accounts", "--force", env=env)
        if accounts.returncode:
            raise RuntimeError(f"demo_accounts failed:\n{accounts.stderr[-2000:]}")
        data_path, report_path = work / "data.json", work / "report.json"
        data_path.write_text(
            json.dumps(
                {
                    "accounts": ACCOUNTS,
                    "sessions": sessions_open(users, env),
                    "skus": skus_to_order(database_url),
                    "customers": customer_numbers(database_url),
                }
            )
        )
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server_log = work / "gunicorn.log"
        with server_log.open("w") as server_output:
            server = subprocess.Popen(  # noqa: S603 - fixed arguments
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    f"--bind=127.0.0.1:{port}",
                    f"--workers={workers}",
                    "--timeout=60",
                    "--graceful-timeout=10",
                ],
                env=env,
                cwd=ROOT,
                stdout=server_output,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_healthy(base_url, server, server_log)
                log(f"  load: {users} users for {seconds} s against {base_url} ({workers} workers)")
                started = time.monotonic()
                locust = subprocess.run(  # noqa: S603 - fixed arguments
                    [
                        sys.executable,
                        "-m",
                        "locust",
                        f"--locustfile={LOCUSTFILE}",
                        "--headless",
                        f"--host={base_url}",
                        f"--users={users}",
                        f"--spawn-rate={max(1.0, users / 10):g}",
                        f"--run-time={seconds}s",
                        "--stop-timeout=10",
                        f"--csv={work / 'locust'}",
                        "--only-summary",
                        "--loglevel=WARNING",
                        "--exit-code-on-error=0",
                    ],
                    env={
                        **env,
                        "BACKSTOCK_LOAD_DATA": str(data_path),
                        "BACKSTOCK_LOAD_REPORT": str(report_path),
                        "BACKSTOCK_LOAD_MAX_REQUESTS": str(MAX_REQUESTS),
                    },
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=seconds + 120,
                    check=False,
                )
                elapsed = time.monotonic() - started
            finally:
                stop(server)
        if locust.returncode:
            raise RuntimeError(f"locust failed ({locust.returncode}):\n{locust.stderr[-3000:]}")
        counters = json.loads(report_path.read_text()) if report_path.exists() else {}
        check = manage("check_stock", env=env)
        server_text = server_log.read_text(errors="replace")
        return LoadResult(
            users=users,
            seconds=seconds,
            workers=workers,
            elapsed=elapsed,
            pages=_stats(work / "locust_stats.csv"),
            statuses={int(code): n for code, n in counters.get("statuses", {}).items()},
            server_errors_by_page=counters.get("server_errors", {}),
            actions=counters.get("actions", {}),
            failures_text=(work / "locust_failures.csv").read_text(errors="replace"),
            check_stock_clean=check.returncode == 0,
            check_stock_output=(check.stdout + check.stderr)[-2000:],
            server_tracebacks=_tail(server_log, 40) if "Traceback" in server_text else "",
        )


def section(result: LoadResult) -> dict:
    """The load test as a report section: {"title", "rows", "notes"}."""
    totals, failures, server_errors = result.totals, result.failures, result.server_errors

    def done(kind: str) -> str:
        counts = result.actions.get(kind, {})
        return f"{counts.get('ok', 0):,} of {counts.get('tried', 0):,}"

    rows = [
        row("Simulated staff users", result.users),
        row("Duration", f"{result.elapsed:.0f} s (asked {result.seconds} s)"),
        row("Requests", f"{result.requests:,}", "> 0", result.requests > 0),
        row("Failed requests (HTTP errors, orders refused)", f"{failures:,}", "0", failures == 0),
        row("Server errors (5xx)", f"{server_errors:,}", "0", server_errors == 0),
        row("Throughput", f"{float(totals.get('Requests/s') or 0):.1f} req/s"),
        row("Response time p50", f"{totals.get('50%', '?')} ms"),
        row("Response time p95", f"{totals.get('95%', '?')} ms"),
        row("Pages browsed (ok of tried)", done("browse")),
        row("Orders placed (ok of tried)", done("order")),
        row("Receipts recorded (ok of tried)", done("receive")),
        row("Releases confirmed (ok of tried)", done("release")),
        row(
            "check_stock after the run",
            "clean" if result.check_stock_clean else "discrepancies",
            "clean",
            result.check_stock_clean,
        ),
    ]
    notes = []
    notes.append(
        f"gunicorn ({result.workers} sync workers) and locust share this machine's cores with "
        "PostgreSQL; response times include queueing for a free worker."
    )
    notes.append(
        "Every tenth simulated user signs in through the form; the others start with a session "
        "opened beforehand, so a burst of password hashing does not fill the first seconds."
    )
    notes.append(
        "A receipt or release that another user beat to it is answered with the form or the "
        "fresh proposal, as designed: counted as tried, not failed."
    )
    named = [line for line in result.pages if line.get("Name") != "Aggregated"]
    if named:
        slowest = sorted(named, key=lambda line: -float(line.get("95%") or 0))[:6]
        notes.append(
            "p50 / p95 per action, slowest first: "
            + "; ".join(
                f"{line['Name']} {line['50%']} / {line['95%']} ms ({line['Request Count']})"
                for line in slowest
            )
        )
    if result.statuses:
        notes.append(
            "HTTP statuses: "
            + ", ".join(f"{code}: {n:,}" for code, n in sorted(result.statuses.items()))
        )
    if result.server_errors_by_page:
        notes.append(f"Server errors by page: {result.server_errors_by_page}")
    if failures:
        notes.append("Failures:\n" + result.failures_text[-2000:])
    if not result.check_stock_clean:
        notes.append("check_stock:\n" + result.check_stock_output)
    if result.server_tracebacks:
        notes.append("The server log has tracebacks:\n" + result.server_tracebacks)
    return {"title": "Load test", "rows": rows, "notes": notes}


def measure(
    *, database_url: str, users: int = 50, seconds: int = 60, workers: int = 4, log=print
) -> dict:
    """What `make bench` calls: run the load test and return its report section."""
    return section(
        run_load(database_url=database_url, users=users, seconds=seconds, workers=workers, log=log)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--database-url", required=True, help="migrated, seeded PostgreSQL")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 4)))
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    result = measure(
        database_url=args.database_url, users=args.users, seconds=args.seconds, workers=args.workers
    )
    print(f"\n{result['title']}")
    for item in result["rows"]:
        mark = {True: "ok", False: "NOT MET", None: ""}[item["met"]]
        target = f"  (target {item['target']})" if item["target"] else ""
        print(f"  {item['metric']}: {item['value']}{target} {mark}".rstrip())
    for note in result["notes"]:
        print(f"  - {note}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if all(item["met"] is not False for item in result["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
