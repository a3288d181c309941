"""Benchmark of the two-phase CSV import (accounts + contacts).

    .venv/bin/python bench/import_bench.py --rows 50000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/csops_bench .venv/bin/python bench/import_bench.py --rows 50000

Generates a deterministic CSV (about 77% of the rows add a new account, the rest a second contact to the
account above), creates a fresh organization with 20 CSMs, then times `import_validate` and `import_commit`.
A second pass re-imports the same accounts with changed ARR, stages and owners (the update path: bulk
updates, owner history, task moves); `--no-update-pass` skips it. The database must be migrated; the
organization is deleted afterwards unless `--keep` is given.

Runs with DEBUG off (as in production) unless DEBUG is set. Each pass prints wall time, this process's CPU
time (on PostgreSQL the server's work is not in it) and the load average: on a shared machine, read wall
time together with those two. Exits 1 when a pass takes longer than `--target` seconds (default 30).
"""
import argparse
import csv
import io
import os
import random
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csops.settings.base")
os.environ.setdefault("DEBUG", "False")  # production-like: no query log kept in memory

import django  # noqa: E402 -- Django must be configured before anything imports models

django.setup()

from django.db import DatabaseError, connection  # noqa: E402

from accounts.imports.columns import COLUMN_NAMES  # noqa: E402
from accounts.imports.services import import_commit, import_validate  # noqa: E402
from accounts.models import Account, Contact  # noqa: E402
from csops.tenancy.context import tenant_context  # noqa: E402
from csops.tenancy.models import Membership, Organization, Role, User  # noqa: E402
from csops.tenancy.services import Actor  # noqa: E402

TIERS = ["Enterprise", "mid_market", "SMB", "tech-touch"]
STAGES = ["onboarding", "Adopting", "mature", "At renewal"]
REGIONS = ["EMEA", "NA", "APAC", "LATAM"]
INDUSTRIES = ["Software", "Manufacturing", "Retail", "Finance", "Healthcare", "Logistics"]
ROLES = ["champion", "Decision maker", "executive_sponsor", "user"]


def generate_csv(*, rows: int, owners: list[str], seed: int, second_contact_share: float = 0.3) -> bytes:
    """`rows` data rows; the same seed always gives the same bytes."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMN_NAMES)
    written = 0
    account_no = 0
    while written < rows:
        account_no += 1
        external_id = f"BENCH-{account_no:06d}"
        account = [
            external_id, f"Customer {account_no:06d} {rng.choice(INDUSTRIES)}", f"customer{account_no}.example",
            rng.choice(INDUSTRIES), rng.choice(TIERS), rng.choice(STAGES), rng.choice(REGIONS), rng.choice(owners),
            f"{rng.randint(1_000, 900_000)}.{rng.randint(0, 99):02d}",
            f"20{rng.randint(27, 29)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        ]
        contacts = 2 if rng.random() < second_contact_share else 1
        for n in range(contacts):
            if written >= rows:
                break
            writer.writerow([*account, f"Contact {account_no}-{n}", f"c{n}.{account_no}@customer{account_no}.example",
                             rng.choice(["VP Ops", "CTO", "Analyst", "Head of CS"]), rng.choice(ROLES),
                             "yes" if n == 0 else "no"])
            written += 1
    return out.getvalue().encode("utf-8")


def make_org(slug: str, csms: int) -> tuple[Organization, list[str], User]:
    org = Organization.objects.create(name=f"Import bench {slug}", slug=slug)
    users = User.objects.bulk_create([User(email=f"csm{i}@{slug}.bench", full_name=f"CSM {i}") for i in range(csms)])
    admin = User.objects.create(email=f"admin@{slug}.bench", full_name="Bench admin")
    Membership.objects.bulk_create([Membership(organization=org, user=u, role=Role.CSM) for u in users]
                                   + [Membership(organization=org, user=admin, role=Role.OPS_ADMIN)])
    return org, [u.email for u in users], admin


def server_cpu_seconds() -> float | None:
    """CPU time used so far by the PostgreSQL backend serving this connection (from /proc, when the server
    runs on this machine), or None. With the client's CPU time it says what the import costs regardless of
    what else the machine is doing."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def run_pass(label: str, *, org, admin, data: bytes, rows: int) -> dict:
    actor = Actor(user=admin)
    server_start = server_cpu_seconds()
    cpu_start = time.process_time()
    start = time.perf_counter()
    batch = import_validate(organization=org, actor=actor, file_name=f"{label}.csv", data=data)
    validated = time.perf_counter()
    cpu_validated = time.process_time()
    server_validated = server_cpu_seconds()
    if batch.error_rows or batch.valid_rows != rows:
        raise SystemExit(f"{label}: unexpected report: {batch.valid_rows} valid, {batch.error_rows} errors, "
                         f"first problems: {batch.errors[:3]}")
    batch = import_commit(batch=batch, actor=actor)
    committed = time.perf_counter()
    cpu_committed = time.process_time()
    server_committed = server_cpu_seconds()
    result = {
        "label": label, "validate": validated - start, "commit": committed - validated, "total": committed - start,
        "cpu_validate": cpu_validated - cpu_start, "cpu_commit": cpu_committed - cpu_validated,
        "created": batch.created_count, "updated": batch.updated_count,
        "contacts_created": batch.contacts_created, "contacts_updated": batch.contacts_updated,
    }
    print(f"{label:>8}: validate {result['validate']:6.2f} s | commit {result['commit']:6.2f} s | "
          f"total {result['total']:6.2f} s | {rows / result['total']:,.0f} rows/s | "
          f"accounts +{batch.created_count} ~{batch.updated_count} | "
          f"contacts +{batch.contacts_created} ~{batch.contacts_updated}")
    print(f"{'':>8}  (CPU time of this process: validate {result['cpu_validate']:.2f} s, commit "
          f"{result['cpu_commit']:.2f} s; the rest is waiting for the database or for a CPU)")
    if server_start is not None and server_committed is not None:
        result["server_validate"] = server_validated - server_start
        result["server_commit"] = server_committed - server_validated
        both = sum(result[k] for k in ("cpu_validate", "cpu_commit", "server_validate", "server_commit"))
        print(f"{'':>8}  (CPU time of the PostgreSQL backend: validate {result['server_validate']:.2f} s, commit "
              f"{result['server_commit']:.2f} s; client + server CPU for the pass: {both:.2f} s)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--csms", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-update-pass", action="store_true", help="Only time the first (create) import.")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark organization and its data.")
    parser.add_argument("--target", type=float, default=30.0,
                        help="Seconds allowed for validate + commit of one pass (exit status 1 when missed).")
    args = parser.parse_args()

    vendor = connection.vendor
    slug = f"import-bench-{uuid.uuid4().hex[:8]}"
    org, owners, admin = make_org(slug, args.csms)
    data = generate_csv(rows=args.rows, owners=owners, seed=args.seed)
    print(f"database: {vendor} ({connection.settings_dict['NAME']}) | org: {slug} | "
          f"{args.rows:,} rows, {len(data) / 1e6:.1f} MB | load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    results = []
    try:
        with tenant_context(org):
            results.append(run_pass("create", org=org, admin=admin, data=data, rows=args.rows))
            if not args.no_update_pass:
                # Same accounts and contacts, new ARR/stage/owner/role values: every account is updated.
                changed = generate_csv(rows=args.rows, owners=list(reversed(owners)), seed=args.seed)
                changed = changed.replace(b",adopting,", b",mature,").replace(b",Adopting,", b",mature,")
                changed = _bump_arr(changed)
                results.append(run_pass("update", org=org, admin=admin, data=changed, rows=args.rows))
            print(f"   check: {Account.objects.count():,} accounts, {Contact.objects.count():,} contacts | "
                  f"load average {os.getloadavg()[0]:.2f}")
    finally:
        if not args.keep:
            try:
                Organization.objects.filter(pk=org.pk).delete()
                User.objects.filter(email__endswith=f"@{slug}.bench").delete()
            except DatabaseError as exc:
                print(f"cleanup failed ({exc}); is the database fully migrated? Delete organization {slug} by hand.")
    missed = [r["label"] for r in results if r["total"] > args.target]
    print(f"  target: validate + commit ≤ {args.target:g} s per pass: "
          + (f"MISSED ({', '.join(missed)})" if missed else "met"))
    if missed:
        raise SystemExit(1)


def _bump_arr(data: bytes) -> bytes:
    """Add 1.00 to every ARR cell so that each account really changes."""
    text = data.decode()
    reader = csv.reader(io.StringIO(text))
    out = io.StringIO()
    writer = csv.writer(out)
    header = next(reader)
    writer.writerow(header)
    arr = header.index("arr")
    for row in reader:
        row[arr] = str(Decimal(row[arr]) + 1)
        writer.writerow(row)
    return out.getvalue().encode()


if __name__ == "__main__":
    main()
