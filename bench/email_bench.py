"""Weekly emails at scale: render and deliver the Monday CSM and leader emails for 500 CSMs and 20 leaders
(5 leaders + 15 team managers) of a 100,000-account tenant, through a real SMTP server (aiosmtpd on
127.0.0.1), on PostgreSQL. Target: ≤ 60 s for the whole batch.

    .venv/bin/python bench/email_bench.py --database-url postgres://postgres@127.0.0.1/csops_bench_email

The database is dropped, recreated and migrated, then filled with a synthetic tenant (bulk inserts): 100k
accounts over 500 CSMs in 15 teams, a renewal for every 8th account, 20k overdue tasks, two weeks of health
snapshots (today and 7 days ago) for every account, 2k at-risk alerts, 20 company updates, and the dashboard
aggregates for both days (``dashboard_aggregates_refresh``, timed separately: it is the nightly job, not
part of sending). Then it times, in one process:
  1. queueing: ``weekly_csm_emails_enqueue`` + ``weekly_leader_emails_enqueue`` (digests + rendering),
  2. delivery: ``outbox_send_pending`` over one SMTP connection to the local server,
and prints each phase, the messages per second, the SQL query count of queueing, and as a baseline measured
in the same run, the time to send the same number of pre-rendered messages straight through Django's SMTP
backend (what delivery costs without the outbox's claim/mark bookkeeping).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 60.0
N_ACCOUNTS, N_CSMS, N_TEAMS, N_LEADERS = 100_000, 500, 15, 5


def prepare_database(url: str) -> None:
    parsed = urlparse(url)
    name, host, user = parsed.path.lstrip("/"), parsed.hostname or "127.0.0.1", parsed.username or "postgres"
    subprocess.run(["dropdb", "--if-exists", "-h", host, "-U", user, name], check=True)
    subprocess.run(["createdb", "-h", host, "-U", user, name], check=True)
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


def setup_django(url: str) -> None:
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csops.settings.base")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed(today: dt.date):
    import random
    from decimal import Decimal

    from accounts.models import Account
    from csops.tenancy.context import tenant_context
    from csops.tenancy.models import Membership, Organization, Role, Team, User
    from health.models import AlertKind, HealthAlert, HealthModelVersion, HealthSnapshot
    from playbooks.models import Task
    from renewals.models import Renewal
    from reporting.models import CompanyUpdate

    rng = random.Random(7)
    org = Organization.objects.create(name="Bench Email Co", slug="bench-email")
    users = User.objects.bulk_create([User(email=f"csm{i}@bench.example", full_name=f"CSM {i:03d}")
                                      for i in range(N_CSMS)]
                                     + [User(email=f"mgr{i}@bench.example", full_name=f"Manager {i:02d}")
                                        for i in range(N_TEAMS)]
                                     + [User(email=f"lead{i}@bench.example", full_name=f"Leader {i}")
                                        for i in range(N_LEADERS)])
    csms, managers, leaders = users[:N_CSMS], users[N_CSMS:N_CSMS + N_TEAMS], users[N_CSMS + N_TEAMS:]
    teams = Team.objects.bulk_create([Team(organization=org, name=f"Team {i:02d}", manager=m)
                                      for i, m in enumerate(managers)])
    Membership.objects.bulk_create(
        [Membership(organization=org, user=u, role=Role.CSM, team=teams[i % N_TEAMS]) for i, u in enumerate(csms)]
        + [Membership(organization=org, user=m, role=Role.MANAGER, team=teams[i]) for i, m in enumerate(managers)]
        + [Membership(organization=org, user=u, role=Role.LEADER) for u in leaders])
    with tenant_context(org):
        version = HealthModelVersion.objects.get(status="published")
        bands = ["healthy"] * 6 + ["stable"] * 3 + ["at_risk"]
        accounts = [Account(id=uuid.uuid4(), organization=org, name=f"Account {i:06d}", owner=csms[i % N_CSMS],
                            arr=Decimal(rng.randrange(5_000, 200_000)), tier="mid_market",
                            health_band=rng.choice(bands), health_score=Decimal(rng.randrange(100, 990)) / 10)
                    for i in range(N_ACCOUNTS)]
        Account.objects.bulk_create(accounts, batch_size=5000)
        Renewal.objects.bulk_create([Renewal(organization=org, account=a, target_arr=a.arr,
                                             renewal_date=today + dt.timedelta(days=rng.randrange(1, 170)))
                                     for a in accounts[::8]], batch_size=5000)
        Task.objects.bulk_create([Task(organization=org, account=a, owner_id=a.owner_id, title="Follow up",
                                       due_on=today - dt.timedelta(days=rng.randrange(1, 30)))
                                  for a in accounts[::5]], batch_size=5000)
        snaps = []
        for day in (today - dt.timedelta(days=7), today):
            snaps += [HealthSnapshot(organization=org, account=a, date=day, model_version=version,
                                     score=Decimal(rng.randrange(100, 990)) / 10, band=a.health_band)
                      for a in accounts]
        HealthSnapshot.objects.bulk_create(snaps, batch_size=5000)
        HealthAlert.objects.bulk_create([HealthAlert(organization=org, account=a, kind=AlertKind.ENTERED_AT_RISK,
                                                     date=today - dt.timedelta(days=2), message="Entered At risk",
                                                     score_after=a.health_score)
                                         for a in accounts[7::53]], batch_size=5000)
        CompanyUpdate.objects.bulk_create([CompanyUpdate(organization=org, title=f"Release {i}", kind="release",
                                                         body="What changed and why it matters.")
                                           for i in range(20)])
    return org


class Inbox:
    def __init__(self, counter):
        self.counter = counter

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 OK"


def serve_smtp(port: int, counter, ready, stop) -> None:
    """The local SMTP server, in its own process (as a real mail server would be: not competing with the
    sender for one Python interpreter's lock). Counts the messages it accepts in a shared counter."""
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    controller = Controller(Inbox(counter), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1/csops_bench_email")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the tenant a previous run seeded (only its outbox is emptied)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    import multiprocessing

    mp = multiprocessing.get_context("spawn")
    received, ready, stop = mp.Value("i", 0), mp.Event(), mp.Event()
    port = free_port()
    server = mp.Process(target=serve_smtp, args=(port, received, ready, stop), daemon=True)
    server.start()
    if not ready.wait(30):
        raise SystemExit("the local SMTP server did not start")
    started = time.perf_counter()
    if not args.reuse:
        prepare_database(args.database_url)
    setup_django(args.database_url)
    from django.core.mail import EmailMultiAlternatives, get_connection
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from csops.tenancy.context import tenant_context
    from csops.tenancy.models import Organization
    from reporting.aggregates import dashboard_aggregates_refresh
    from reporting.models import OutboxMessage
    from reporting.services.outbox import outbox_send_pending
    from reporting.services.weekly import weekly_csm_emails_enqueue, weekly_leader_emails_enqueue

    today = dt.date.today()
    org = Organization.objects.filter(slug="bench-email").first() if args.reuse else None
    if org is None:
        org = seed(today)
        print(f"seeded {N_ACCOUNTS:,} accounts / {N_CSMS} CSMs / {N_TEAMS} managers / {N_LEADERS} leaders "
              f"in {time.perf_counter() - started:.1f} s")
    else:
        with tenant_context(org):
            OutboxMessage.objects.all().delete()
        print("reusing the seeded tenant; outbox emptied")
    t = time.perf_counter()
    with tenant_context(org):
        for day in (today - dt.timedelta(days=7), today):
            dashboard_aggregates_refresh(organization=org, day=day)
    print(f"dashboard aggregates for 2 days (nightly job, not part of sending): {time.perf_counter() - t:.1f} s")

    try:
        with tenant_context(org):
            reset_queries()
            t0 = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                queued = weekly_csm_emails_enqueue(organization=org, today=today)
                queued += weekly_leader_emails_enqueue(organization=org, today=today)
            t1 = time.perf_counter()
            smtp = get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1",
                                  port=port, timeout=30)
            summary = outbox_send_pending(connection=smtp)
            t2 = time.perf_counter()
            rows = list(OutboxMessage.objects.values_list("subject", "body_text", "body_html", "to_email"))
        from_outbox = received.value
        baseline_conn = get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1",
                                       port=port, timeout=30)
        t3 = time.perf_counter()
        with baseline_conn:
            for subject, text, html, to in rows:
                message = EmailMultiAlternatives(subject, text, "bench@csops.local", [to], connection=baseline_conn)
                message.attach_alternative(html, "text/html")
                message.send()
        t4 = time.perf_counter()
    finally:
        stop.set()
        server.join(30)
    total = t2 - t0
    print(f"queued {queued} emails in {t1 - t0:.1f} s with {len(queries.captured_queries)} SQL queries")
    print(f"delivered {summary.sent} (failed {summary.failed}) in {t2 - t1:.1f} s; the SMTP server received "
          f"{from_outbox} from the outbox (in its own process)")
    print(f"baseline: the same {len(rows)} pre-rendered messages straight through the SMTP backend: {t4 - t3:.1f} s "
          f"(outbox delivery / baseline = {(t2 - t1) / max(t4 - t3, 1e-9):.2f}×)")
    verdict = "MET" if total <= TARGET_S else "MISSED"
    print(f"TOTAL render + deliver: {total:.1f} s for {queued} emails ({queued / total:.0f}/s) — "
          f"target ≤ {TARGET_S:.0f} s: {verdict}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
