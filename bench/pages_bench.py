"""Server time and query counts of the portfolio page and the accounts list on a 100k-account tenant.

Runs the real views in-process with Django's test Client (middleware, tenant context, templates),
logged in as a CSM and as the leader of Northwind. For every scenario it prints p50/p95/max of the
time around `client.get` over N requests, the number of SQL queries of one request, and, as a
baseline measured in the same run, the time of the page's main-table SQL alone (the `LIMIT`ed
accounts query the page itself issued, re-executed verbatim) — the ratio says what the page adds.

    # a PostgreSQL database seeded with 100k accounts / 500 CSMs (seed_bench.py leaves one behind):
    .venv/bin/python bench/pages_bench.py --database-url postgres://postgres@127.0.0.1/csops_bench_seed
    .venv/bin/python bench/pages_bench.py --database-url URL --seed   # migrate + seed it first if empty

Targets: p95 ≤ 150 ms per page; the query count must not depend on the size of the CSM's book (a
small-book and a large-book CSM are measured and must issue the same number of queries).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
P95_TARGET_MS = 150.0


@dataclass
class Scenario:
    label: str
    user_email: str
    url: str


@dataclass
class Result:
    scenario: Scenario
    timings_ms: list[float]
    queries: int
    main_sql_ms: float | None

    def pct(self, q: float) -> float:
        ordered = sorted(self.timings_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def setup_django(database_url: str) -> None:
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic needed here
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csops.settings.base")
    os.environ.setdefault("DEBUG", "0")  # production-like: no debug cursor, no debug templates
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed_if_empty(database_url: str, accounts: int) -> None:
    env = dict(os.environ, DATABASE_URL=database_url)
    for cmd in (["manage.py", "migrate", "--noinput", "-v", "0"],
                ["manage.py", "seed_demo", "--accounts", str(accounts), "--if-empty"]):
        subprocess.run([sys.executable, *cmd], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def book_sizes(org) -> dict[str, int]:
    """Account count per CSM email (CSM role only)."""
    from django.db.models import Count

    from accounts.models import Account
    from csops.tenancy.context import tenant_context
    from csops.tenancy.models import Membership, Role

    csm_ids = dict(Membership.objects.filter(organization=org, role=Role.CSM).values_list("user_id", "user__email"))
    with tenant_context(org):
        rows = Account.objects.filter(owner_id__in=list(csm_ids)).values("owner_id").annotate(n=Count("id"))
        return {csm_ids[r["owner_id"]]: r["n"] for r in rows.order_by()}


def search_term(org) -> str:
    """A word that occurs in some account names (the first word of a mid-alphabet account)."""
    from accounts.models import Account
    from csops.tenancy.context import tenant_context

    with tenant_context(org):
        name = Account.objects.order_by("name").values_list("name", flat=True)[Account.objects.count() // 2]
    return name.split()[0]


def main_table_sql(captured) -> str | None:
    """The accounts query with a LIMIT: the page's main table."""
    for query in captured:
        sql = query["sql"]
        if 'FROM "accounts_account"' in sql and "LIMIT" in sql and "COUNT(" not in sql.upper():
            return sql
    return None


def time_sql(sql: str, repeat: int) -> float:
    from django.db import connection

    samples = []
    with connection.cursor() as cursor:
        for _ in range(repeat):
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(client, scenario: Scenario, requests: int, warmup: int) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        assert client.get(scenario.url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(scenario.url)
    queries = list(captured.captured_queries)  # a view of the connection's log: copy before the next request
    if response.status_code != 200:
        raise SystemExit(f"{scenario.url} answered {response.status_code}")
    if len(response.content) < 2000:
        raise SystemExit(f"{scenario.url} rendered only {len(response.content)} bytes: is the view still a stub?")
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(scenario.url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    sql = main_table_sql(queries)
    return Result(scenario=scenario, timings_ms=timings, queries=len(queries),
                  main_sql_ms=time_sql(sql, requests) if sql else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL (or SQLite) URL seeded with seed_demo")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", action="store_true", help="migrate and seed_demo --if-empty first")
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts to seed with --seed")
    args = parser.parse_args()

    if args.seed:
        seed_if_empty(args.database_url, args.accounts)
    setup_django(args.database_url)
    from django.db import connection
    from django.test import Client

    from csops.tenancy.models import Organization, User

    org = Organization.objects.filter(slug="northwind").first()
    if org is None:
        raise SystemExit("no northwind organization: seed the database first (--seed)")
    books = book_sizes(org)
    small, large = min(books, key=books.get), max(books, key=books.get)
    typical = "csm@northwind.example"
    term = search_term(org)
    base = f"/o/{org.slug}"
    scenarios = [
        Scenario(f"portfolio, typical CSM ({books.get(typical, 0)} accounts)", typical, f"{base}/"),
        Scenario(f"portfolio, small-book CSM ({books[small]} accounts)", small, f"{base}/"),
        Scenario(f"portfolio, large-book CSM ({books[large]} accounts)", large, f"{base}/"),
        Scenario("accounts list, leader (whole org)", "leader@northwind.example", f"{base}/accounts/"),
        Scenario("accounts list, leader, ?sort=arr&desc=1", "leader@northwind.example",
                 f"{base}/accounts/?sort=arr&desc=1"),
        Scenario(f"accounts list, leader, ?q={term}", "leader@northwind.example", f"{base}/accounts/?q={term}"),
        Scenario("accounts list, leader, ?tier=enterprise", "leader@northwind.example",
                 f"{base}/accounts/?tier=enterprise"),
    ]
    n_accounts = sum(books.values())
    print(f"{connection.vendor} | northwind: {len(books)} CSMs owning {n_accounts:,} accounts | "
          f"{args.requests} requests per scenario after {args.warmup} warm-up | load avg {os.getloadavg()[0]:.1f}")
    clients: dict[str, Client] = {}
    results = []
    for scenario in scenarios:
        if scenario.user_email not in clients:
            clients[scenario.user_email] = Client()
            clients[scenario.user_email].force_login(User.objects.get(email=scenario.user_email))
        results.append(measure(clients[scenario.user_email], scenario, args.requests, args.warmup))
        r = results[-1]
        print(f"  measured: {scenario.label} (p50 {r.pct(0.5):.1f} ms)", file=sys.stderr, flush=True)

    header = (f"{'scenario':58} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'queries':>7} {'main SQL ms':>11} "
              f"{'ratio':>6}")
    print(header)
    print("-" * len(header))
    all_ok = True
    for r in results:
        p50, p95 = r.pct(0.5), r.pct(0.95)
        ratio = f"{p50 / r.main_sql_ms:6.1f}" if r.main_sql_ms else "     -"
        main_sql = f"{r.main_sql_ms:11.2f}" if r.main_sql_ms is not None else f"{'-':>11}"
        ok = p95 <= P95_TARGET_MS
        all_ok &= ok
        print(f"{r.scenario.label:58} {p50:7.1f} {p95:7.1f} {max(r.timings_ms):7.1f} {r.queries:7d} {main_sql} {ratio}"
              f"  {'PASS' if ok else 'FAIL'}")
    by_label = {r.scenario.label.split(" (")[0]: r.queries for r in results}
    small_q, large_q = by_label["portfolio, small-book CSM"], by_label["portfolio, large-book CSM"]
    constant = small_q == large_q
    all_ok &= constant
    print(f"\nquery count small-book CSM ({books[small]} accounts): {small_q}; large-book CSM ({books[large]} "
          f"accounts): {large_q} → {'PASS (independent of book size)' if constant else 'FAIL (depends on book size)'}")
    print(f"overall (p95 ≤ {P95_TARGET_MS:.0f} ms everywhere, constant query count): {'PASS' if all_ok else 'FAIL'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
