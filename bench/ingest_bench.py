"""Benchmark of bulk usage ingestion through the API: rows per second (target ≥ 20,000 rows/s).

    .venv/bin/python bench/ingest_bench.py                     # PostgreSQL, database csops_bench_ingest
    .venv/bin/python bench/ingest_bench.py --database-url postgres://postgres@127.0.0.1:5432/NAME --requests 40

Creates (drops and recreates, then migrates) its own PostgreSQL database, an organization with `--accounts`
accounts and a read-write API token, then POSTs `--requests` requests of 5,000 usage rows each to
`/api/v1/orgs/<slug>/signals/usage/` through DRF's APIClient: the whole Django stack in-process (middleware,
token authentication, the org gate, JSON parsing, the view, row checks, account resolution, the upsert and
its transaction), without a network hop or a WSGI server. Request bodies are JSON-encoded before the clock
starts. Three passes over the same rows: new rows (INSERT), the same rows again (all ignored as unchanged),
and every value changed (ON CONFLICT … DO UPDATE). Rows per second = rows sent ÷ wall time of the pass.

The health recompute the view enqueues after each commit is replaced by a counter: in production it is a
Celery task for a worker (without REDIS_URL it would run eagerly, inside the measured request). The benchmark
connects as the `postgres` superuser, so row-level security policies are not evaluated (the production role
evaluates them: one comparison per row). Prints per pass the wall time, the CPU time of this process and of
the callers' PostgreSQL backends (from /proc: the server runs on this machine; the WAL writer and checkpointer
are not in it), rows per CPU-second (what one idle core would sustain serially), p50/p95 request latency and
the load average; exits 1 when a pass is below `--target` rows/s of wall time.
"""
import argparse
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/csops_bench_ingest"


def prepare_database(url: str) -> None:
    parsed = urlparse(url)
    conn = ["-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres"]
    name = parsed.path.lstrip("/")
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(["dropdb", "--if-exists", *conn, name], check=True, env=env)
    subprocess.run(["createdb", *conn, name], check=True, env=env)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], check=True, env=env, cwd=BASE_DIR)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=40, help="requests per pass (5,000 rows each)")
    parser.add_argument("--rows", type=int, default=5_000, help="rows per request (at most 5,000)")
    parser.add_argument("--target", type=float, default=20_000, help="rows/s every pass must reach")
    parser.add_argument("--clients", type=int, default=1,
                        help="concurrent callers (threads, each with its own client and database connection)")
    parser.add_argument("--no-prepare", action="store_true", help="reuse the database as it is")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("the benchmark runs on PostgreSQL")
    if not args.no_prepare:
        prepare_database(args.database_url)

    sys.path.insert(0, str(BASE_DIR))
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csops.settings.base")
    os.environ.setdefault("DEBUG", "False")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from accounts.models import Account
    from csops.tenancy.context import tenant_context
    from csops.tenancy.models import TokenScope
    from csops.tenancy.services import SYSTEM, api_token_create, organization_create

    slug = f"ingest-bench-{int(time.time())}"
    org = organization_create(name="Ingest bench", slug=slug)
    with tenant_context(org):
        Account.objects.bulk_create([Account(organization=org, name=f"Customer {i:06d}", external_id=f"CRM-{i:06d}")
                                     for i in range(args.accounts)], batch_size=5_000)
    _, token = api_token_create(organization=org, actor=SYSTEM, name="bench", scope=TokenScope.READ_WRITE)
    url = f"/api/v1/orgs/{slug}/signals/usage/"

    rng = random.Random(7)
    metrics = ["active_users", "licensed_seats", "logins", "feature_reports", "feature_exports", "api_calls",
               "dashboards_viewed", "integrations_enabled", "feature_alerts", "seats_assigned"]
    start_day = dt.date(2026, 1, 1)
    # Request k covers consecutive (account, metric, day) keys: accounts × metrics per day, days going on.
    keys_per_day = args.accounts * len(metrics)

    def payload(request_no: int, bump: float) -> bytes:
        rows = []
        for i in range(request_no * args.rows, (request_no + 1) * args.rows):
            day, rest = divmod(i, keys_per_day)
            account, metric = divmod(rest, len(metrics))
            rows.append({"account_external_id": f"CRM-{account:06d}", "metric": metrics[metric],
                         "date": (start_day + dt.timedelta(days=day)).isoformat(),
                         "value": round(rng.random() * 500 + bump, 2)})
        return json.dumps(rows).encode()

    first = [payload(k, 0) for k in range(args.requests)]
    changed = [payload(k, 1000) for k in range(args.requests)]
    enqueued = []
    failures = 0
    print(f"PostgreSQL {args.database_url.rsplit('/', 1)[-1]}: {args.accounts:,} accounts, {args.requests} requests "
          f"× {args.rows:,} rows per pass, {args.clients} caller(s), via DRF APIClient "
          "(in-process, whole Django stack)")
    with mock.patch("health.tasks.health_recompute_accounts.delay_on_commit",
                    side_effect=lambda org_id, ids: enqueued.append(len(ids))):
        for name, bodies, expect in [("insert (new rows)", first, "created"),
                                     ("re-send (unchanged, ignored)", first, "unchanged"),
                                     ("update (every value changed)", changed, "updated")]:
            load_before = os.getloadavg()[0]
            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            latencies, server_cpu = [], []
            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                # Caller k sends requests k, k + clients, …: disjoint keys, as independent senders would.
                futures = [pool.submit(send, url, token, bodies[k::args.clients], expect, latencies,
                                       server_cpu)
                           for k in range(args.clients)]
                results = [f.result() for f in futures]
            wall = time.perf_counter() - began
            if None in results:
                return 1
            counted = sum(results)
            cpu_after = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
            rows = args.rows * len(bodies)
            rate = rows / wall
            latencies.sort()
            p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
            cpu_rate = rows / (cpu + sum(server_cpu))
            verdict = "met" if rate >= args.target else "MISSED"
            failures += rate < args.target
            print(f"  {name:32s} {rate:9,.0f} rows/s  ({rows:,} rows, {counted:,} {expect}) wall {wall:6.2f} s, "
                  f"CPU client {cpu:5.2f} s + server {sum(server_cpu):5.2f} s ({cpu_rate:,.0f} rows per CPU-second), "
                  f"request p50 {statistics.median(latencies) * 1000:5.0f} ms "
                  f"p95 {p95 * 1000:5.0f} ms, load {load_before:.1f}→{os.getloadavg()[0]:.1f}  [{verdict}]")
    print(f"  health recompute enqueued {len(enqueued)} time(s) (one per request that changed something)")
    return 1 if failures else 0


def backend_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a PostgreSQL backend process so far (same machine: /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send(url: str, token: str, bodies: list[bytes], expect: str, latencies: list, server_cpu: list) -> int | None:
    """POST the bodies one after the other; the sum of the `expect` counts, or None on an unexpected answer.
    Appends the CPU seconds this caller's PostgreSQL backend spent to `server_cpu`."""
    from django.db import connection
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    counted = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    cpu_before = backend_cpu_seconds(pid)
    try:
        for body in bodies:
            t0 = time.perf_counter()
            response = client.post(url, body, content_type="application/json")
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 200:
                print("  unexpected response:", response.status_code, response.content[:300])
                return None
            counted += response.json()[expect]
        server_cpu.append(backend_cpu_seconds(pid) - cpu_before)
    finally:
        connection.close()  # this thread's connection
    return counted


if __name__ == "__main__":
    sys.exit(main())
