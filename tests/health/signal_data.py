"""Builders of stored signals (usage, surveys, tickets, touchpoints, pulses) for the snapshot tests."""
import datetime as dt
import random

from django.utils import timezone

from accounts.models import SupportTicket, SurveyResponse, Touchpoint, UsageRecord
from health.models import Pulse
from tests.factories import AccountFactory, ContactFactory

DAY = dt.date(2025, 6, 30)


def at(day: dt.date, hour: int = 12, tz=dt.UTC) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=tz)


def usage(org, account, day, metric, value):
    return UsageRecord(organization=org, account=account, date=day, metric=metric, value=value)


def populate(org, *, accounts: int = 6, seed: int = 1, as_of: dt.date = DAY, days: int = 70,
             metrics=("logins", "active_users", "reports", "exports"), tickets: bool = True, fractional=False):
    """``accounts`` accounts with random but deterministic signals of every kind around ``as_of``."""
    rng = random.Random(seed)
    made = [AccountFactory(organization=org, renewal_date=as_of + dt.timedelta(days=rng.randint(-10, 300)))
            for _ in range(accounts)]
    rows, surveys, ticket_rows, touchpoints, pulses = [], [], [], [], []
    for n, account in enumerate(made):
        if rng.random() < 0.8:
            rows.append(usage(org, account, as_of - dt.timedelta(days=rng.randint(0, 120)), "licensed_seats",
                              rng.choice([0, 10, 25, 50])))
        for back in range(days):
            day = as_of - dt.timedelta(days=back)
            for metric in metrics:
                if rng.random() < 0.35:
                    value = rng.random() * 20 if fractional else rng.randint(0, 20)
                    rows.append(usage(org, account, day, metric, value))
        if n % 3 == 0:  # rows after as_of never count
            rows.append(usage(org, account, as_of + dt.timedelta(days=1), "logins", 999))
        contacts = [ContactFactory(account=account, organization=org) for _ in range(2)]
        for i in range(rng.randint(0, 4)):
            kind = rng.choice(["nps", "csat"])
            surveys.append(SurveyResponse(
                organization=org, account=account, contact=rng.choice([*contacts, None]),
                external_id=f"s{seed}-{n}-{i}", kind=kind,
                score=rng.randint(0, 10) if kind == "nps" else rng.randint(1, 5),
                responded_at=at(as_of - dt.timedelta(days=rng.randint(0, 200)), rng.randint(0, 23)),
            ))
        if tickets:
            for i in range(rng.randint(0, 3)):
                opened = at(as_of - dt.timedelta(days=rng.randint(0, 120)), rng.randint(0, 23))
                closed = opened + dt.timedelta(days=rng.randint(0, 30)) if rng.random() < 0.5 else None
                ticket_rows.append(SupportTicket(
                    organization=org, account=account, external_id=f"t{seed}-{n}-{i}",
                    priority=rng.choice(["low", "normal", "high", "urgent"]), escalated=rng.random() < 0.3,
                    opened_at=opened, closed_at=closed, status="closed" if closed else "open",
                ))
        for _ in range(rng.randint(0, 3)):
            touchpoints.append(Touchpoint(organization=org, account=account, summary="call",
                                          occurred_at=at(as_of - dt.timedelta(days=rng.randint(-3, 100)))))
        for _ in range(rng.randint(0, 3)):
            pulses.append(Pulse(organization=org, account=account, value=rng.choice(["good", "neutral", "concerned"]),
                                reason="gut feeling", valid_days=rng.choice([7, 30, 90]),
                                recorded_at=at(as_of - dt.timedelta(days=rng.randint(-2, 60)), rng.randint(0, 23))))
    UsageRecord.objects.bulk_create(rows)
    SurveyResponse.objects.bulk_create(surveys)
    SupportTicket.objects.bulk_create(ticket_rows)
    Touchpoint.objects.bulk_create(touchpoints)
    Pulse.objects.bulk_create(pulses)
    return made


def now_at(day: dt.date, hour: int = 12):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)), dt.UTC)
