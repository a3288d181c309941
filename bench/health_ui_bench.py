"""Server time and query counts of the health pages and the snapshot API on a large tenant.

Runs the real views in-process with Django's test Client (middleware, tenant context, templates) as the
organization's leader: the health overview (distribution, movers, coverage, freshness), an account page
(health panel), the accounts list sorted/filtered by health, and the snapshots API (`latest=true`, band
filter). Prints p50/p95/max over N requests and the SQL query count of one request; the slowest SQL
statement of that request is printed too (re-executed alone), so a slow page can be pinned on a query.

    .venv/bin/python bench/health_ui_bench.py --database-url postgres://postgres@127.0.0.1/csops_bench_healthui

The database needs one organization with accounts and their snapshots of today and 7 days earlier (e.g. a
copy of health_bench.py's database, scaled up with SQL); the script adds a leader if there is none.
Targets: p95 ≤ 150 ms per page; query counts independent of the number of accounts.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
P95_TARGET_MS = 150.0


def setup_django(database_url: str) -> None:
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csops.settings.base")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def leader_of(org):
    from csops.tenancy.models import Membership, Role, User

    membership = Membership.objects.filter(organization=org, role=Role.LEADER).select_related("user").first()
    if membership:
        return membership.user
    user, _ = User.objects.get_or_create(email=f"bench-leader@{org.slug}.example", defaults={"full_name": "Bench"})
    Membership.objects.create(organization=org, user=user, role=Role.LEADER)
    return user


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def slowest_sql(queries) -> tuple[float, str]:
    from django.db import connection

    best = (0.0, "")
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            took = (time.perf_counter() - started) * 1000
            best = max(best, (took, sql))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--org", default="", help="organization slug (default: the one with most accounts)")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    setup_django(args.database_url)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Account
    from csops.tenancy.context import tenant_context
    from csops.tenancy.models import Organization

    sizes = {}
    for candidate in Organization.objects.filter(**({"slug": args.org} if args.org else {})):
        with tenant_context(candidate):
            sizes[candidate] = Account.objects.count()
    org = max(sizes, key=sizes.get)
    n_accounts = sizes[org]
    with tenant_context(org):
        account = Account.objects.filter(health_band="at_risk").order_by("-arr").first()
    client = Client()
    client.force_login(leader_of(org))
    base, api = f"/o/{org.slug}", f"/api/v1/orgs/{org.slug}"
    scenarios = [
        ("health overview (whole org)", f"{base}/health/?scope=all"),
        ("account page with health panel", f"{base}/accounts/a/{account.pk}/"),
        ("accounts list ?sort=health", f"{base}/accounts/?scope=all&sort=health"),
        ("accounts list ?band=at_risk&sort=health&desc=1",
         f"{base}/accounts/?scope=all&band=at_risk&sort=health&desc=1"),
        ("API snapshots ?latest=true", f"{api}/snapshots/?latest=true"),
        ("API snapshots ?band=at_risk", f"{api}/snapshots/?band=at_risk"),
    ]
    print(f"{connection.vendor} | {org.slug}: {n_accounts:,} accounts | {args.requests} requests per scenario "
          f"after {args.warmup} warm-up | load avg {os.getloadavg()[0]:.1f}")
    header = f"{'scenario':50} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'queries':>7} {'slowest SQL ms':>14}"
    print(header)
    print("-" * len(header))
    ok = True
    for label, url in scenarios:
        for _ in range(args.warmup):
            assert client.get(url).status_code == 200, url
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        queries = list(captured.captured_queries)
        samples = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        slow_ms, slow_sql = slowest_sql(queries)
        p95 = pct(samples, 0.95)
        ok &= p95 <= P95_TARGET_MS
        print(f"{label:50} {statistics.median(samples):7.1f} {p95:7.1f} {max(samples):7.1f} {len(queries):7d} "
              f"{slow_ms:14.1f}")
        print(f"    slowest: {slow_sql[:150]}", file=sys.stderr)
    print(f"p95 ≤ {P95_TARGET_MS:.0f} ms on every page: {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
