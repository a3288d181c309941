"""Server time and query counts of the executive dashboard on a 100k-account / 500-CSM tenant, and the time of
the daily aggregate refresh that feeds it.

Runs the real view in-process with Django's test Client (middleware, tenant context, templates), logged in as
Northwind's leader and a manager. Per scenario: p50/p95/max of the time around `client.get` over N requests
and the number of SQL queries of one request. Before that, one `dashboard_aggregates_refresh` of today (the
daily job's work) is timed — the page reads only what it writes.

    # a PostgreSQL database seeded with 100k accounts / 500 CSMs (seed_demo includes the dashboards phase):
    .venv/bin/python bench/dashboard_bench.py --database-url postgres://postgres@127.0.0.1/csops_bench_dash --seed

It also measures the CSM daily page ("My portfolio", `/o/<org>/`) the same way, for the CSM with the biggest
book, a manager (their team) and a manager switched to one of their CSMs — the page itself and the htmx
"Today's priorities" panel it loads right after (`/o/<org>/reports/priorities/`), each on its own line.

Targets (issue #5): executive dashboard p95 ≤ 250 ms, CSM daily page p95 ≤ 150 ms (page and panel each);
the query count must not depend on the scope (whole organization, a team, a CSM) or on the portfolio size.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
P95_TARGET_MS = 250.0
CSM_PAGE_P95_TARGET_MS = 150.0


def setup_django(database_url: str) -> None:
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic needed here
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csops.settings.base")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed_if_empty(database_url: str, accounts: int, skip: list[str]) -> None:
    env = dict(os.environ, DATABASE_URL=database_url)
    skips = [a for phase in skip for a in ("--skip", phase)]
    for cmd in (["manage.py", "migrate", "--noinput", "-v", "0"],
                ["manage.py", "seed_demo", "--accounts", str(accounts), "--if-empty", "--fast-passwords", *skips]):
        subprocess.run([sys.executable, *cmd], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(client, url: str, requests: int, warmup: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        assert client.get(url).status_code == 200, url
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    page = "format=" not in url
    expected = b"Team performance" if "/reports/dashboard/" in url else b"priorit"
    if response.status_code != 200 or (page and expected not in response.content):
        raise SystemExit(f"{url} answered {response.status_code} without the page's content")
    queries = len(captured.captured_queries)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        assert client.get(url).status_code == 200
        timings.append((time.perf_counter() - started) * 1000)
    return timings, queries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", action="store_true", help="migrate and seed_demo --if-empty first")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--skip", action="append", default=[], help="seed phases to skip (seed_demo --skip)")
    parser.add_argument("--no-refresh", action="store_true", help="do not time a refresh of today's aggregates")
    args = parser.parse_args()

    if args.seed:
        seed_if_empty(args.database_url, args.accounts, args.skip)
    setup_django(args.database_url)
    from django.db import connection
    from django.test import Client

    from accounts.models import Account
    from csops.tenancy.context import tenant_context
    from csops.tenancy.models import Membership, Organization, Role, User
    from reporting.aggregates import dashboard_aggregates_refresh
    from reporting.models import DashboardAggregate

    org = Organization.objects.filter(slug="northwind").first()
    if org is None:
        raise SystemExit("no northwind organization: seed the database first (--seed)")
    with tenant_context(org):
        n_accounts = Account.objects.count()
        if not args.no_refresh:
            started, cpu = time.perf_counter(), time.process_time()
            rows = dashboard_aggregates_refresh(organization=org)
            print(f"refresh of today's aggregates: {time.perf_counter() - started:.2f} s wall, "
                  f"{time.process_time() - cpu:.2f} s client CPU, {rows} rows", flush=True)
        days = DashboardAggregate.objects.filter(scope="org").count()
        csm_row = DashboardAggregate.objects.filter(scope="csm").order_by("-date").first()
        team_row = DashboardAggregate.objects.filter(scope="team").order_by("-date").first()
    manager = Membership.objects.filter(organization=org, role=Role.MANAGER, team__isnull=False).first()
    n_csms = Membership.objects.filter(organization=org, role=Role.CSM).count()
    with tenant_context(org):
        from django.db.models import Count

        biggest = (Account.objects.filter(owner__isnull=False).values("owner_id").annotate(n=Count("id"))
                   .order_by("-n").first())
        team_csm = (Membership.objects.filter(organization=org, role=Role.CSM, team=manager.team)
                    .values_list("user_id", flat=True).first())
    csm = User.objects.get(pk=biggest["owner_id"])
    book = biggest["n"]
    base = f"/o/{org.slug}/reports/dashboard/"
    scenarios = [
        ("leader, whole organization", "leader@northwind.example", base),
        ("leader, segment enterprise", "leader@northwind.example", base + "?tier=enterprise"),
        ("leader, one team", "leader@northwind.example", base + f"?team={team_row.scope_key}"),
        ("leader, one CSM", "leader@northwind.example", base + f"?csm={csm_row.scope_key}"),
        ("manager, own team (default)", manager.user.email, base),
        ("leader, team table as XLSX", "leader@northwind.example", base + "?format=xlsx&table=team"),
    ]
    home, panel = f"/o/{org.slug}/", f"/o/{org.slug}/reports/priorities/"
    daily = [
        (f"CSM, my portfolio ({book} accounts)", csm.email, home),
        ("CSM, today's priorities panel", csm.email, panel),
        ("manager, team portfolio", manager.user.email, home),
        ("manager, team priorities panel", manager.user.email, panel),
        ("manager, switched to one CSM", manager.user.email, home + f"?csm={team_csm}"),
    ]
    print(f"{connection.vendor} | northwind: {n_accounts:,} accounts, {n_csms} CSMs, {days} days of aggregates | "
          f"{args.requests} requests per scenario after {args.warmup} warm-up | load avg {os.getloadavg()[0]:.1f}")
    header = f"{'scenario':36} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'queries':>7}"
    print(header)
    print("-" * len(header))
    clients: dict[str, Client] = {}
    verdicts = []
    for title, rows, target in [("executive dashboard", scenarios, P95_TARGET_MS),
                                ("CSM daily page", daily, CSM_PAGE_P95_TARGET_MS)]:
        print(f"-- {title} (target p95 ≤ {target:.0f} ms)")
        ok = True
        for label, email, url in rows:
            if email not in clients:
                clients[email] = Client()
                clients[email].force_login(User.objects.get(email=email))
            timings, queries = measure(clients[email], url, args.requests, args.warmup)
            p95 = pct(timings, 0.95)
            if "format=" not in url:  # the target is the page's; exports are reported alongside
                ok &= p95 <= target
            print(f"{label:36} {pct(timings, 0.5):7.1f} {p95:7.1f} {max(timings):7.1f} {queries:7d}", flush=True)
        verdicts.append(f"{title} p95 ≤ {target:.0f} ms: {'met' if ok else 'MISSED'}")
    print(" | ".join(verdicts) + f" | load avg {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
