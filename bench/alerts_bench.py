"""Health alert detection at scale on PostgreSQL: one organization, N accounts, 9 days of snapshots.

    .venv/bin/python bench/alerts_bench.py                      # 100,000 accounts in csops_bench_alerts
    .venv/bin/python bench/alerts_bench.py --accounts 10000

It (re)creates its own database (dropdb + createdb + migrate), inserts the accounts and their snapshots for
day − 8 … day server-side (generate_series), where 2% of the accounts enter At risk on the day and another 2%
drop 20 points below their score of a week earlier; the rest move by at most a point. Then it times:
1. the detection query alone (``_detect_rows``), with its EXPLAIN ANALYZE plan summary;
2. ``alerts_detect`` raising the day's alerts (an alert row, a risk task, a notification and a Slack delivery
   per alerted account);
3. ``alerts_detect`` run again (the idempotent no-op: the detection query plus one insert that conflicts).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csops.settings.base")
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/csops_bench_alerts"

ACCOUNTS_SQL = """
INSERT INTO accounts_account (id, name, external_id, domain, industry, tier, lifecycle_stage, region, arr,
                              renewal_date, created_at, updated_at, organization_id, health_band, owner_id)
SELECT gen_random_uuid(), 'Bench ' || i, 'b-' || i, '', '', 'smb', 'mature', '', 10000, NULL, now(), now(),
       %(org)s, 'unknown', %(owner)s
FROM generate_series(1, %(n)s) AS i
"""
# Base score 45..94 by account; on day d, i % 50 = 0 falls from 45 to 35 (enters At risk) and i % 50 = 25 from
# 70/70.5 to 50 (a 20-point drop, Healthy to Stable); everyone else wobbles by half a point.
SNAPSHOTS_SQL = """
INSERT INTO health_healthsnapshot (id, organization_id, account_id, date, model_version_id, score, band,
                                   components, missing, top_detractor, top_detractor_points, why_changed, computed_at)
SELECT gen_random_uuid(), %(org)s, a.id, %(d)s::date - g.d, %(version)s, s.score,
       CASE WHEN s.score >= 70 THEN 'healthy' WHEN s.score < 40 THEN 'at_risk' ELSE 'stable' END,
       '[]'::jsonb, '[]'::jsonb, '', NULL, '', now()
FROM (SELECT id, substr(external_id, 3)::int AS i FROM accounts_account WHERE organization_id = %(org)s) a
CROSS JOIN generate_series(0, 8) AS g(d)
CROSS JOIN LATERAL (SELECT CASE
    WHEN g.d = 0 AND a.i %% 50 = 0 THEN 35.0
    WHEN g.d = 0 AND a.i %% 50 = 25 THEN 50.0
    WHEN a.i %% 50 = 0 THEN 45.0
    ELSE 45 + (a.i %% 50) + (g.d %% 2) * 0.5 END AS score) s
"""


def _pg_args(url: str) -> list[str]:
    parts = urlparse(url)
    return ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]


def prepare_database(url: str) -> None:
    import subprocess

    name = urlparse(url).path.lstrip("/")
    subprocess.run(["dropdb", "--if-exists", *_pg_args(url), name], check=True)  # noqa: S603, S607
    subprocess.run(["createdb", *_pg_args(url), name], check=True)  # noqa: S603, S607
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "csops.settings.base"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)  # noqa: S603


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    prepare_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    import django

    django.setup()
    from django.db import connection

    from csops.tenancy.context import tenant_context
    from csops.tenancy.models import Membership, Organization, Role, User
    from health.models import HealthAlert, HealthModelVersion
    from health.services import alerts

    day = dt.date(2026, 11, 20)
    org = Organization.objects.create(name="Bench alerts", slug="bench-alerts")
    owner = User.objects.create_user(email="csm@bench.example", password="x")  # noqa: S106 -- throwaway user
    Membership.objects.create(organization=org, user=owner, role=Role.CSM)
    with tenant_context(org):
        version = HealthModelVersion.objects.get(status="published")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        params = {"org": org.pk, "n": args.accounts, "d": day, "version": version.pk, "owner": owner.pk}
        cursor.execute(ACCOUNTS_SQL, params)
        cursor.execute(SNAPSHOTS_SQL, params)
        snapshots = cursor.rowcount
        cursor.execute("ANALYZE")
    print(f"generated {args.accounts:,} accounts, {snapshots:,} snapshots in {time.perf_counter() - started:.1f} s")

    with tenant_context(org):
        started = time.perf_counter()
        events = alerts._detect_rows(organization=org, day=day, account_ids=None)
        print(f"detection query: {len(events):,} accounts alerted in {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        raised = alerts.alerts_detect(organization=org, day=day)
        print(f"alerts_detect (raising): {raised:,} alerts in {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        again = alerts.alerts_detect(organization=org, day=day)
        print(f"alerts_detect (re-run, no-op): {again} alerts in {time.perf_counter() - started:.2f} s")
        print(f"alert rows: {HealthAlert.objects.count():,}")
        next_day = day + dt.timedelta(days=1)
        started = time.perf_counter()
        quiet = alerts.alerts_detect(organization=org, day=next_day)  # no snapshots that day: nothing to read
        print(f"alerts_detect on a day without snapshots: {quiet} in {time.perf_counter() - started:.3f} s")


if __name__ == "__main__":
    main()
