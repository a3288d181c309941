"""Recompute health snapshots of one organization, today or over past days (history, a fixed model).

    manage.py recompute_health --org SLUG [--date YYYY-MM-DD] [--days N] [--alerts]

``--date`` is the last day (default: the organization's local today); ``--days N`` recomputes the N days
ending there, oldest first, so each day's "why it changed" reads the snapshots written seven days earlier.
Alerts are raised only for today's run unless ``--alerts`` is given (history should not page anyone).
Idempotent: re-running writes the same rows.
"""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from csops.tenancy.context import tenant_context
from csops.tenancy.selectors import organization_by_slug
from health.services.snapshots import snapshots_backfill


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--date must be YYYY-MM-DD, got {text!r}") from error


class Command(BaseCommand):
    help = "Recompute the health snapshots of one organization for a day or a range of past days."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Slug of the organization.")
        parser.add_argument("--date", help="Last day to recompute (YYYY-MM-DD; default: the org's local today).")
        parser.add_argument("--days", type=int, default=1, help="How many days, ending with --date (default 1).")
        parser.add_argument("--alerts", action="store_true", help="Raise alerts for past days too.")

    def handle(self, *args, **options):
        organization = organization_by_slug(options["org"])
        if organization is None:
            raise CommandError(f"No organization with the slug {options['org']!r}.")
        if not 1 <= options["days"] <= 3660:
            raise CommandError("--days must be between 1 and 3660.")
        today = organization.today()
        last = _date(options["date"]) if options["date"] else today
        if last > today:
            raise CommandError(f"--date {last} is after the organization's today ({today}).")
        days = [last - dt.timedelta(days=n) for n in range(options["days"] - 1, -1, -1)]
        progress_stream = self.stderr._out  # tqdm redraws with \r; OutputWrapper would add newlines
        totals = {"accounts": 0, "alerts": 0}
        with tenant_context(organization), tqdm(total=len(days), unit="days", desc="Recomputing",
                                                 file=progress_stream, leave=False) as bar:
            def on_day(day, summary):
                totals["accounts"] += summary.accounts
                totals["alerts"] += summary.alerts
                bar.set_postfix_str(f"{day} {summary.accounts} accounts")
                bar.update()

            for day in days:  # one call per day so today's run alone raises alerts
                snapshots_backfill(organization=organization, days=[day], progress=on_day,
                                   detect_alerts=options["alerts"] or day == today)
        self.stdout.write(self.style.SUCCESS(
            f"Recomputed {len(days)} day(s) of {organization.slug} ({days[0]} → {days[-1]}): "
            f"{totals['accounts']} snapshot(s) written, {totals['alerts']} alert(s) raised."
        ))
