"""`manage.py seed_demo`: the demo tenants (Northwind Analytics, Globex Cloud) and their logins."""
import time

from django.core.management.base import BaseCommand, CommandError

from accounts.demo import (
    DEFAULT_ACCOUNTS,
    DEFAULT_SEED,
    DEMO_SLUGS,
    check_skippable,
    demo_reset,
    demo_seed,
    logins_box,
)
from csops.tenancy.models import Organization


class Command(BaseCommand):
    help = (
        "Create the demo organizations Northwind Analytics (--accounts N, default 600) and Globex Cloud "
        "(~80 accounts) with people, accounts, contacts, a year of touchpoints, tasks and owner history. "
        "Deterministic for a given --seed. Prints the demo logins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=DEFAULT_ACCOUNTS,
                            help=f"Northwind's number of accounts (default {DEFAULT_ACCOUNTS}; CSMs scale as N/200)")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000",
                            help="where the demo will be served, for the printed logins (make demo passes HOST:PORT)")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing (but print the logins) when the demo organization already exists")
        parser.add_argument("--reset", action="store_true",
                            help="delete the demo organizations (and their users that belong to no other "
                                 "organization) first")
        parser.add_argument("--skip", action="append", default=[], metavar="PHASE",
                            help="leave out a generation phase (repeatable), e.g. --skip contracts; for "
                                 "benchmarking one phase against the others")
        parser.add_argument("--fast-passwords", action="store_true",
                            help="hash the demo password with a low work factor (benchmarks, CI); upgraded at "
                                 "the first login")

    def handle(self, *args, **options):
        if options["if_empty"] and options["reset"]:
            raise CommandError("--if-empty and --reset contradict each other; use one of them")
        if options["accounts"] < 1:
            raise CommandError("--accounts must be at least 1")
        try:
            check_skippable(options["skip"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["if_empty"] and Organization.objects.filter(slug="northwind").exists():
            self.stdout.write("The demo organization already exists: nothing to seed.")
            self.stdout.write(logins_box(base_url=options["base_url"]))
            return
        if options["reset"]:
            started = time.perf_counter()
            deleted = demo_reset()
            if deleted:
                self.stdout.write(f"Deleted demo organization(s) {', '.join(deleted)} "
                                  f"in {time.perf_counter() - started:.1f} s.")
        existing = sorted(Organization.objects.filter(slug__in=DEMO_SLUGS).values_list("slug", flat=True))
        if existing:
            raise CommandError(
                f"Demo organization(s) {', '.join(existing)} already exist. Run `manage.py seed_demo --reset` to "
                "delete and recreate them, or `--if-empty` to keep them."
            )
        started = time.perf_counter()
        try:
            results = demo_seed(n_accounts=options["accounts"], seed=options["seed"],
                                fast_passwords=options["fast_passwords"], show_progress=options["verbosity"] > 0,
                                skip=tuple(options["skip"]))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for result in results:
            figures = ", ".join(f"{count:,} {name}" for name, count in result.counts.items())
            self.stdout.write(f"Seeded {result.slug} in {result.seconds:.1f} s ({result.db_seconds:.1f} s writing): "
                              f"{figures}")
            phases = " · ".join(f"{name} {seconds:.1f} s" for name, seconds in result.phase_seconds.items())
            self.stdout.write(f"  phases of {result.slug}: {phases}")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {time.perf_counter() - started:.1f} s."))
        self.stdout.write(logins_box(base_url=options["base_url"]))
