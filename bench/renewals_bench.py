"""Renewals at scale: retention metrics, the quarter's forecast and the checkpoint sweep on a big tenant.

Run against a database seeded with `manage.py seed_demo --accounts 100000` (Northwind then has 100k
accounts and three years of contract lines):

    createdb -h 127.0.0.1 -U postgres csops_bench_renewals
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/csops_bench_renewals
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo --accounts 100000 --fast-passwords
    .venv/bin/python bench/renewals_bench.py --runs 3

For each metric it times the product's code path (the one the API and pages call) and ONE hand-written
SQL query computing the same numbers in the same run, checks that both agree, and prints the ratio.
Targets: each metric ≤ 2 s and ≤ 2× the SQL. The sweep is timed on the seeded state (the daily run: only
checkpoints passed in the last week are due), then in the worst case — every passed checkpoint of every
open renewal due at once, as on the first run after installing — inside a transaction rolled back at the
end, so the database is left as seeded. Target ≤ 10 s, and a second run raising nothing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csops.settings.base")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from csops.tenancy.context import tenant_context  # noqa: E402
from csops.tenancy.models import Organization  # noqa: E402
from renewals.forecast import forecast_for_period  # noqa: E402
from renewals.models import Renewal, RenewalCheckpointHit  # noqa: E402
from renewals.periods import current_quarter, org_today, trailing_twelve_months  # noqa: E402
from renewals.selectors import retention_for_period  # noqa: E402
from renewals.services import renewal_checkpoint_sweep, renewals_sync  # noqa: E402

RETENTION_SQL = """
WITH per_account AS (
    SELECT account_id,
           SUM(CASE WHEN start_date <= %(s)s AND (end_date IS NULL OR end_date > %(s)s)
                    THEN ROUND(arr * 100)::bigint ELSE 0 END) AS r0,
           SUM(CASE WHEN start_date <= %(e)s AND (end_date IS NULL OR end_date > %(e)s)
                    THEN ROUND(arr * 100)::bigint ELSE 0 END) AS r1
    FROM renewals_contractline
    WHERE organization_id = %(org)s AND is_recurring
      AND start_date <= %(e)s AND (end_date IS NULL OR end_date > %(s)s)
    GROUP BY account_id
)
SELECT SUM(LEAST(r0, r1)), SUM(r1), SUM(r0), COUNT(*), COUNT(*) FILTER (WHERE r1 = 0)
FROM per_account WHERE r0 > 0
"""

FORECAST_SQL = """
SELECT SUM(ROUND(r.target_arr * 100)::bigint),
       SUM(CASE WHEN r.stage <> 'closed' THEN
             CASE WHEN r.forecast_arr IS NOT NULL THEN ROUND(r.forecast_arr * 100)::bigint * 100
                  WHEN r.probability IS NOT NULL THEN ROUND(r.target_arr * 100)::bigint * r.probability
                  ELSE ROUND(r.target_arr * 100)::bigint * CASE r.forecast_category WHEN 'commit' THEN 100
                       WHEN 'likely' THEN 75 WHEN 'at_risk' THEN 40 WHEN 'lost' THEN 0 ELSE 75 END
             END
           ELSE ROUND(r.final_arr * 100)::bigint * 100 END),
       SUM(ROUND(r.target_arr * 100)::bigint) FILTER (WHERE r.stage <> 'closed'
           AND (r.forecast_category = 'at_risk' OR a.health_band = 'at_risk')),
       SUM(LEAST(ROUND(r.final_arr * 100)::bigint, ROUND(r.target_arr * 100)::bigint))
           FILTER (WHERE r.stage = 'closed'),
       SUM(ROUND(r.target_arr * 100)::bigint) FILTER (WHERE r.stage = 'closed')
FROM renewals_renewal r JOIN accounts_account a ON a.id = r.account_id
WHERE r.organization_id = %(org)s AND r.renewal_date >= %(s)s AND r.renewal_date < %(e)s
"""


def timed(fn, runs: int):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def sql(query: str, params: dict):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()


def verdict(seconds: float, sql_seconds: float | None = None, limit: float = 2.0) -> str:
    ok = seconds <= limit and (sql_seconds is None or seconds <= 2 * sql_seconds)
    return "OK" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--org", default="northwind")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("run this against PostgreSQL (DATABASE_URL=postgres://…)")
    org = Organization.objects.get(slug=args.org)
    with tenant_context(org):
        today = org_today(org)
        n_lines = sql("SELECT COUNT(*) FROM renewals_contractline WHERE organization_id = %(org)s", {"org": org.pk})[0]
        n_accounts = sql("SELECT COUNT(*) FROM accounts_account WHERE organization_id = %(org)s", {"org": org.pk})[0]
        n_renewals = Renewal.objects.count()
        n_open = Renewal.objects.exclude(stage="closed").count()
        print(f"{org.slug}: {n_accounts:,} accounts, {n_lines:,} contract lines, {n_renewals:,} renewals "
              f"({n_open:,} open); today {today}; PostgreSQL {connection.pg_version}; {args.runs} runs, median")

        # --- Retention, trailing twelve months
        period = trailing_twelve_months(today)
        params = {"org": org.pk, "s": period.start, "e": period.end}
        t_app, ret = timed(lambda: retention_for_period(start=period.start, end=period.end), args.runs)
        t_sql, row = timed(lambda: sql(RETENTION_SQL, params), args.runs)
        kept, r1, r0, cohort, churned = (int(v) for v in row)
        assert ret.grr == Decimal(kept) / Decimal(r0) or abs(ret.grr - Decimal(kept) / Decimal(r0)) < Decimal("1e-6")
        assert abs(ret.nrr - Decimal(r1) / Decimal(r0)) < Decimal("1e-6")
        assert (ret.cohort_size, ret.churned_logos) == (cohort, churned)
        print(f"GRR/NRR/logo churn (T12M {period.start}..{period.end}): GRR {ret.grr:.4%} NRR {ret.nrr:.4%} "
              f"logo churn {ret.logo_churn_rate:.4%} | app {t_app:.3f} s, SQL {t_sql:.3f} s, "
              f"ratio {t_app / t_sql:.2f} -> {verdict(t_app, t_sql)}")

        # --- The quarter's forecast
        quarter = current_quarter(org)
        params = {"org": org.pk, "s": quarter.start, "e": quarter.end}
        t_app, fc = timed(lambda: forecast_for_period(start=quarter.start, end_exclusive=quarter.end), args.runs)
        t_sql, row = timed(lambda: sql(FORECAST_SQL, params), args.runs)
        due, forecast_cp, at_risk, closed_kept, closed_target = (int(v or 0) for v in row)
        assert fc.renewals_due == Decimal(due) / 100
        assert abs(fc.forecast - Decimal(forecast_cp) / 10_000) <= Decimal("0.01")
        assert fc.at_risk_arr == Decimal(at_risk) / 100
        if closed_target:
            assert abs(fc.gross_renewal_rate - Decimal(closed_kept) / Decimal(closed_target)) < Decimal("1e-6")
        print(f"Forecast ({quarter.label} {quarter.start}..{quarter.end}): {fc.renewals_count:,} renewals, due "
              f"{fc.renewals_due:,}, forecast {fc.forecast:,} ({fc.forecast_pct_of_due:.2%}), at risk "
              f"{fc.at_risk_arr:,} ({fc.at_risk_count:,}) | app {t_app:.3f} s, SQL {t_sql:.3f} s, "
              f"ratio {t_app / t_sql:.2f} -> {verdict(t_app, t_sql)}")

        # --- renewals_sync (daily, nothing to change on the seeded state)
        with transaction.atomic():
            started = time.perf_counter()
            result = renewals_sync(as_of=today)
            t_sync = time.perf_counter() - started
            transaction.set_rollback(True)
        print(f"renewals_sync over {n_open:,} open renewals: {t_sync:.2f} s, created {result.created}, updated "
              f"{result.updated}, removed {result.removed}")

        # --- The checkpoint sweep: the daily run, then the worst case. Rolled back: the database stays as seeded.
        with transaction.atomic():
            started = time.perf_counter()
            raised = renewal_checkpoint_sweep(as_of=today)
            t_daily = time.perf_counter() - started
            started = time.perf_counter()
            again = renewal_checkpoint_sweep(as_of=today)
            t_again = time.perf_counter() - started
            print(f"Checkpoint sweep, daily run on the seeded state: {raised:,} raised in {t_daily:.2f} s; second "
                  f"run {again} raised in {t_again:.2f} s -> {verdict(t_daily, limit=10) if again == 0 else 'MISSED'}")
            RenewalCheckpointHit.objects.all().delete()
            started = time.perf_counter()
            raised = renewal_checkpoint_sweep(as_of=today)
            t_cold = time.perf_counter() - started
            started = time.perf_counter()
            again = renewal_checkpoint_sweep(as_of=today)
            t_again = time.perf_counter() - started
            print(f"Checkpoint sweep, worst case (no checkpoint raised yet, {n_open:,} open renewals): {raised:,} "
                  f"raised in {t_cold:.2f} s; second run {again} raised in {t_again:.2f} s -> "
                  f"{verdict(t_cold, limit=10) if again == 0 else 'MISSED'}")
            transaction.set_rollback(True)


if __name__ == "__main__":
    main()
