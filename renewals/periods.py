"""Reporting periods: the organization's "today", fiscal quarters and years, trailing twelve months.

Every period is half-open, [start, end): `end` is the first day AFTER the period. That is also the day the
ledger measures closing revenue on (renewals/ledger.py), so a contract whose last day of service is the
period's last day counts as not renewed within the period.

Fiscal years are named by the calendar year in which they END (the usual SaaS convention): with a fiscal
year starting in February, 1 Feb 2026 – 31 Jan 2027 is "FY2027" and its Q1 is February–April 2026. With a
January start the fiscal year is the calendar year.
"""
from __future__ import annotations

import calendar
import datetime as dt
from typing import TYPE_CHECKING, NamedTuple

from django.utils import timezone as djtz

if TYPE_CHECKING:
    from csops.tenancy.models import Organization


class Period(NamedTuple):
    start: dt.date
    end: dt.date  # exclusive: the first day after the period
    label: str


def org_today(organization: Organization, *, now: dt.datetime | None = None) -> dt.date:
    """The organization's local calendar date at `now` (default: the current instant).

    A leader in Los Angeles at 17:00 on 31 March is still in March, although it is already 1 April in UTC."""
    now = now if now is not None else djtz.now()
    if djtz.is_naive(now):
        raise ValueError("org_today needs an aware datetime")
    return now.astimezone(organization.tzinfo).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, clamped to the month's last day (31 Mar − 1 month = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_ends(*, today: dt.date, days: int) -> list[dt.date]:
    """The last day of every month that ended in the ``days`` days before ``today``, oldest first."""
    out, end = [], today.replace(day=1) - dt.timedelta(days=1)
    while (today - end).days <= days:
        out.append(end)
        end = end.replace(day=1) - dt.timedelta(days=1)
    return sorted(out)


def _check_month(fiscal_start_month: int) -> None:
    if not 1 <= fiscal_start_month <= 12:
        raise ValueError(f"fiscal_start_month must be 1–12, got {fiscal_start_month!r}")


def fiscal_year_of(day: dt.date, fiscal_start_month: int) -> int:
    """The fiscal year `day` falls in, named by the calendar year in which that fiscal year ends."""
    _check_month(fiscal_start_month)
    if fiscal_start_month == 1:
        return day.year
    return day.year + 1 if day.month >= fiscal_start_month else day.year


def fiscal_year_bounds(day: dt.date, fiscal_start_month: int) -> Period:
    fiscal_year = fiscal_year_of(day, fiscal_start_month)
    start_year = fiscal_year if fiscal_start_month == 1 else fiscal_year - 1
    start = dt.date(start_year, fiscal_start_month, 1)
    return Period(start, add_months(start, 12), f"FY{fiscal_year}")


def quarter_bounds(day: dt.date, fiscal_start_month: int) -> Period:
    """The fiscal quarter containing `day`: (first day, first day of the next quarter, "FY2027 Q1")."""
    _check_month(fiscal_start_month)
    months_into_year = (day.month - fiscal_start_month) % 12
    quarter_index = months_into_year // 3
    start = add_months(dt.date(day.year, day.month, 1), -(months_into_year % 3))
    return Period(start, add_months(start, 3),
                  f"FY{fiscal_year_of(day, fiscal_start_month)} Q{quarter_index + 1}")


def current_quarter(organization: Organization, *, now: dt.datetime | None = None) -> Period:
    """The fiscal quarter of the organization's today (its timezone and fiscal-year start)."""
    return quarter_bounds(org_today(organization, now=now), organization.fiscal_year_start_month)


def trailing_twelve_months(day: dt.date) -> Period:
    """The twelve months up to `day`: [day − 12 months, day). Retention over it compares revenue on the same
    date a year earlier with revenue on `day` itself."""
    return Period(add_months(day, -12), day, f"Trailing 12 months to {day.isoformat()}")
