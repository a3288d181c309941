"""Reporting periods: the organization's today, fiscal quarters/years (named by the year they end in), TTM."""
import datetime as dt

import pytest

from csops.tenancy.models import Organization
from renewals.periods import (
    Period,
    add_months,
    current_quarter,
    fiscal_year_bounds,
    fiscal_year_of,
    org_today,
    quarter_bounds,
    trailing_twelve_months,
)

D = dt.date
UTC = dt.UTC
FEBRUARY = 2


def _org(timezone: str, fiscal_start: int) -> Organization:
    # Unsaved: the period helpers only read the timezone and the fiscal-year start.
    return Organization(name="Acme", slug="acme", timezone=timezone, fiscal_year_start_month=fiscal_start)


@pytest.mark.parametrize("day, expected", [
    (D(2026, 2, 1), Period(D(2026, 2, 1), D(2026, 5, 1), "FY2027 Q1")),  # first day of the fiscal year
    (D(2026, 4, 30), Period(D(2026, 2, 1), D(2026, 5, 1), "FY2027 Q1")),  # last day of Q1
    (D(2026, 5, 1), Period(D(2026, 5, 1), D(2026, 8, 1), "FY2027 Q2")),
    (D(2026, 10, 31), Period(D(2026, 8, 1), D(2026, 11, 1), "FY2027 Q3")),
    (D(2026, 12, 31), Period(D(2026, 11, 1), D(2027, 2, 1), "FY2027 Q4")),  # Q4 spans the calendar year end
    (D(2027, 1, 31), Period(D(2026, 11, 1), D(2027, 2, 1), "FY2027 Q4")),  # the fiscal year's last day
    (D(2026, 1, 15), Period(D(2025, 11, 1), D(2026, 2, 1), "FY2026 Q4")),
])
def test_fiscal_quarters_with_a_year_starting_in_february(day, expected):
    assert quarter_bounds(day, FEBRUARY) == expected


def test_calendar_fiscal_year_has_calendar_quarters():
    assert quarter_bounds(D(2026, 1, 1), 1) == (D(2026, 1, 1), D(2026, 4, 1), "FY2026 Q1")
    assert quarter_bounds(D(2026, 12, 31), 1) == (D(2026, 10, 1), D(2027, 1, 1), "FY2026 Q4")


def test_fiscal_year_is_named_by_the_calendar_year_it_ends_in():
    assert fiscal_year_of(D(2026, 2, 1), FEBRUARY) == 2027  # Feb 2026 – Jan 2027 ends in 2027
    assert fiscal_year_of(D(2026, 1, 31), FEBRUARY) == 2026
    assert fiscal_year_of(D(2025, 12, 1), 12) == 2026  # Dec 2025 – Nov 2026
    assert fiscal_year_of(D(2026, 7, 4), 1) == 2026
    assert fiscal_year_bounds(D(2026, 7, 4), FEBRUARY) == (D(2026, 2, 1), D(2027, 2, 1), "FY2027")
    assert fiscal_year_bounds(D(2026, 7, 4), 1) == (D(2026, 1, 1), D(2027, 1, 1), "FY2026")


def test_quarter_boundary_follows_the_organizations_timezone_not_utc():
    # 03:30 UTC on 1 May 2026 is still 20:30 on 30 April in Los Angeles (PDT, UTC−7).
    now = dt.datetime(2026, 5, 1, 3, 30, tzinfo=UTC)
    los_angeles = _org("America/Los_Angeles", FEBRUARY)
    assert org_today(los_angeles, now=now) == D(2026, 4, 30)
    assert current_quarter(los_angeles, now=now) == (D(2026, 2, 1), D(2026, 5, 1), "FY2027 Q1")
    # The same instant in a UTC organization is already in Q2.
    assert current_quarter(_org("UTC", FEBRUARY), now=now).label == "FY2027 Q2"
    # At 07:30 UTC it is 00:30 on 1 May in Los Angeles: Q2 there too.
    assert current_quarter(los_angeles, now=dt.datetime(2026, 5, 1, 7, 30, tzinfo=UTC)).label == "FY2027 Q2"


def test_fiscal_year_rollover_near_midnight_utc_in_los_angeles():
    # 1 Feb 2027 05:00 UTC = 31 Jan 2027 21:00 PST: still the last day of FY2027.
    los_angeles = _org("America/Los_Angeles", FEBRUARY)
    assert current_quarter(los_angeles, now=dt.datetime(2027, 2, 1, 5, 0, tzinfo=UTC)).label == "FY2027 Q4"
    assert current_quarter(los_angeles, now=dt.datetime(2027, 2, 1, 8, 0, tzinfo=UTC)).label == "FY2028 Q1"


def test_org_today_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="aware"):
        org_today(_org("UTC", 1), now=dt.datetime(2026, 5, 1, 3, 30))  # naive on purpose


def test_add_months_clamps_to_the_end_of_shorter_months():
    assert add_months(D(2026, 3, 31), -1) == D(2026, 2, 28)
    assert add_months(D(2028, 2, 29), -12) == D(2027, 2, 28)
    assert add_months(D(2026, 11, 30), 3) == D(2027, 2, 28)
    assert add_months(D(2026, 1, 15), 12) == D(2027, 1, 15)


def test_trailing_twelve_months_compares_a_day_with_the_same_day_a_year_earlier():
    assert trailing_twelve_months(D(2026, 5, 1))[:2] == (D(2025, 5, 1), D(2026, 5, 1))
    assert trailing_twelve_months(D(2028, 2, 29)).start == D(2027, 2, 28)


def test_invalid_fiscal_start_month_is_refused():
    with pytest.raises(ValueError, match="1–12"):
        quarter_bounds(D(2026, 1, 1), 13)
