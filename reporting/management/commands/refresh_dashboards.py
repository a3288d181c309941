"""Compute the executive dashboard's aggregates of one organization: today's, and a history of month-ends.

    manage.py refresh_dashboards --org SLUG [--days N]

``--days N`` (default 0) also computes every month-end of the last N days (the trend charts' points: 400
gives about 13 months). Idempotent: each day's rows are replaced.
"""
from django.core.management.base import BaseCommand, CommandError

from csops.tenancy.context import tenant_context
from csops.tenancy.selectors import organization_by_slug
from reporting.aggregates import dashboard_aggregates_backfill


class Command(BaseCommand):
    help = "Compute the executive dashboard's aggregates (today, plus month-ends of the last N days)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Slug of the organization.")
        parser.add_argument("--days", type=int, default=0, help="Also the month-ends of the last N days (0–3660).")

    def handle(self, *args, **options):
        organization = organization_by_slug(options["org"])
        if organization is None:
            raise CommandError(f"No organization with the slug {options['org']!r}.")
        if not 0 <= options["days"] <= 3660:
            raise CommandError("--days must be between 0 and 3660.")
        with tenant_context(organization):
            dates = dashboard_aggregates_backfill(organization=organization, days=options["days"])
        self.stdout.write(self.style.SUCCESS(
            f"Dashboard aggregates of {organization.slug}: {len(dates)} day(s) ({dates[0]} → {dates[-1]})."))
