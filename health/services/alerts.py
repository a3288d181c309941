"""Health alerts: risk task, in-app notification and Slack message when an account enters At risk or drops.

``alerts_detect`` is called by the snapshot recompute after it has committed a day's snapshots. The rules, for
an account with a scored snapshot on ``day``:

- **entered At risk**: its band on ``day`` is at_risk and its previous snapshot (the latest before ``day``)
  had a score and was not at_risk;
- **score drop**: score(day) < score(W) − ``Organization.health_drop_alert_points`` (it fell by more than that),
  where W is the latest snapshot on or before day − 7, and no score-drop alert was raised for the account in the
  7 days before ``day`` (so a slide raises one alert a week, not one a day).

No storm: nothing is raised when the snapshot compared against was scored by a different model version (the
band moved because the model changed, not the customer), nor when there is nothing to compare against (the
first run, or a previous snapshot without a score).

Idempotent and concurrency-safe: HealthAlert is unique on (account, kind, day). Alerts are inserted with ON
CONFLICT DO NOTHING and only the rows this run inserted get their task, notification and Slack delivery, so
running a day twice, or twice at once, raises each alert once. When both rules fire for one account on one
day, both alerts are stored (the drop rule's 7-day quiet period needs its row), but the owner gets one task,
one notification and one Slack message for the account, carried by the At risk alert.
"""
from __future__ import annotations

import datetime as dt
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, HealthBand
from csops.tenancy.context import current_organization, tenant_context
from csops.tenancy.models import Notification, Organization, User
from csops.tenancy.services import SYSTEM
from playbooks.models import TaskPriority, TaskSource, TaskType
from playbooks.services import task_create

from ..components import version_meta
from ..models import AlertKind, DeliveryStatus, HealthAlert, HealthSnapshot, SlackDelivery

# The risk task's de-duplication key (task_create keeps one active task per account, type and reason): every
# health alert of an account lands on its one open "health" risk task instead of piling up new ones.
HEALTH_TASK_REASON = "health:at_risk"
TASK_DUE_DAYS = 3
NOTIFICATION_KIND = "health_alert"
DROP_WINDOW_DAYS = 7
IN_CHUNK = 5_000
BAND_LABELS = dict(HealthBand.choices)


@dataclass
class _Event:
    """One account's alerts of the day, before they are written."""

    account_id: uuid.UUID
    score: Decimal
    band: str
    model_version_id: uuid.UUID
    top_detractor: str
    top_detractor_points: float | None
    why_changed: str
    kinds: dict[str, tuple[Decimal | None, str]] = field(default_factory=dict)  # kind -> (score, band) before


def alerts_detect(*, organization: Organization, day: dt.date, account_ids=None) -> int:
    """Raise the alerts of ``day``'s snapshots (all accounts, or only ``account_ids``); returns how many
    alerts this call inserted (0 when they exist already). Set-wise: one detection query per 5,000 accounts
    asked for (one for the whole organization), then a few statements per account alerted."""
    current = current_organization(required=False)
    context = nullcontext() if current is not None and current.pk == organization.pk else tenant_context(organization)
    with context:
        events = _detect(organization=organization, day=day, account_ids=account_ids)
        if not events:
            return 0
        return _raise(organization=organization, day=day, events=events)


# --- detection ------------------------------------------------------------------------------------------------

def _detect(*, organization: Organization, day: dt.date, account_ids) -> list[_Event]:
    if account_ids is not None:
        account_ids = list(account_ids)
        if not account_ids:
            return []
        events = []
        for start in range(0, len(account_ids), IN_CHUNK):
            events += _detect_rows(organization=organization, day=day, account_ids=account_ids[start:start + IN_CHUNK])
        return events
    return _detect_rows(organization=organization, day=day, account_ids=None)


def _detect_rows(*, organization: Organization, day: dt.date, account_ids) -> list[_Event]:
    """One query: the day's snapshots that satisfy a rule, with what they are compared against."""
    week_day = day - dt.timedelta(days=DROP_WINDOW_DAYS)
    previous = HealthSnapshot.objects.filter(account_id=OuterRef("account_id"), date__lt=day).order_by("-date")
    week_ago = HealthSnapshot.objects.filter(account_id=OuterRef("account_id"), date__lte=week_day).order_by("-date")
    recent_drop = HealthAlert.objects.filter(
        account_id=OuterRef("account_id"), kind=AlertKind.SCORE_DROP, date__gte=week_day, date__lt=day
    )
    rows = HealthSnapshot.objects.filter(date=day, score__isnull=False)
    if account_ids is not None:
        rows = rows.filter(account_id__in=account_ids)
    rows = rows.annotate(
        prev_score=Subquery(previous.values("score")[:1]),
        prev_band=Subquery(previous.values("band")[:1]),
        prev_version=Subquery(previous.values("model_version_id")[:1]),
        week_score=Subquery(week_ago.values("score")[:1]),
        week_band=Subquery(week_ago.values("band")[:1]),
        week_version=Subquery(week_ago.values("model_version_id")[:1]),
        drop_alerted=Exists(recent_drop),
    )
    entered_at_risk = (
        Q(band=HealthBand.AT_RISK, prev_score__isnull=False, prev_version=F("model_version_id"))
        & ~Q(prev_band=HealthBand.AT_RISK)
    )
    dropped = Q(
        week_score__isnull=False, week_version=F("model_version_id"), drop_alerted=False,
        score__lt=F("week_score") - organization.health_drop_alert_points,
    )
    rows = rows.annotate(
        entered=ExpressionWrapper(entered_at_risk, output_field=BooleanField()),
        dropped=ExpressionWrapper(dropped, output_field=BooleanField()),
    )
    events = []
    for row in rows.filter(Q(entered=True) | Q(dropped=True)).order_by().values(
        "account_id", "score", "band", "model_version_id", "top_detractor", "top_detractor_points", "why_changed",
        "prev_score", "prev_band", "week_score", "week_band", "entered", "dropped",
    ):
        event = _Event(
            account_id=row["account_id"], score=row["score"], band=row["band"],
            model_version_id=row["model_version_id"], top_detractor=row["top_detractor"],
            top_detractor_points=row["top_detractor_points"], why_changed=row["why_changed"],
        )
        if row["entered"]:
            event.kinds[AlertKind.ENTERED_AT_RISK] = (_decimal(row["prev_score"]), row["prev_band"])
        if row["dropped"]:
            event.kinds[AlertKind.SCORE_DROP] = (_decimal(row["week_score"]), row["week_band"])
        events.append(event)
    return events


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))


# --- raising --------------------------------------------------------------------------------------------------

def _raise(*, organization: Organization, day: dt.date, events: list[_Event]) -> int:
    now = timezone.now()
    with transaction.atomic():
        planned = []
        for event in events:
            for kind, (score_before, band_before) in event.kinds.items():
                planned.append(HealthAlert(
                    id=uuid.uuid4(), organization=organization, account_id=event.account_id, kind=kind, date=day,
                    model_version_id=event.model_version_id, score_before=score_before, score_after=event.score,
                    band_before=band_before or "", band_after=event.band, message="", created_at=now,
                ))
        accounts = Account.objects.in_bulk({e.account_id for e in events})
        for alert in planned:
            alert.message = alert_message(alert=alert, account_name=accounts[alert.account_id].name)
        HealthAlert.objects.bulk_create(planned, ignore_conflicts=True)
        mine = set(HealthAlert.objects.filter(pk__in=[a.pk for a in planned]).values_list("pk", flat=True))
        if not mine:
            return 0
        ours = [a for a in planned if a.pk in mine]
        by_account: dict = {}
        for alert in ours:
            by_account.setdefault(alert.account_id, []).append(alert)
        owners = _owners(organization=organization, accounts=[accounts[a] for a in by_account])
        users = User.objects.in_bulk({pk for pk in owners.values() if pk is not None})
        labels = _detractor_labels(day=day, account_ids=list(by_account))
        event_of = {e.account_id: e for e in events}
        notifications, deliveries = [], []
        for account_id, alerts in by_account.items():
            account, event = accounts[account_id], event_of[account_id]
            # The At risk alert carries the account's task, notification and message when both rules fired.
            alerts.sort(key=lambda a: a.kind != AlertKind.ENTERED_AT_RISK)
            lead = alerts[0]
            owner_id = owners.get(account_id)
            task, _created = task_create(
                account=account, title=_task_title(lead, account.name), actor=SYSTEM, type=TaskType.RISK,
                reason=HEALTH_TASK_REASON, owner=users.get(owner_id), due_on=day + dt.timedelta(days=TASK_DUE_DAYS),
                priority=TaskPriority.HIGH if lead.kind == AlertKind.ENTERED_AT_RISK else TaskPriority.MEDIUM,
                description="\n".join(a.message for a in alerts), source=TaskSource.RULE,
            )
            for alert in alerts:
                alert.task = task
            link = account_link(organization=organization, account_id=account_id)
            if owner_id is not None:
                notifications.append(Notification(
                    organization=organization, user_id=owner_id, kind=NOTIFICATION_KIND,
                    title=_task_title(lead, account.name)[:200], body="\n".join(a.message for a in alerts),
                    url=reverse("accounts:detail", kwargs={"org_slug": organization.slug, "account_id": account_id}),
                    created_at=now,
                ))
            deliveries.append(SlackDelivery(
                organization=organization, alert=lead, webhook_url=organization.slack_webhook_url,
                payload=slack_payload(alerts=alerts, account_name=account.name, event=event,
                                      detractor_label=labels.get(account_id, ""), link=link),
                status=DeliveryStatus.PENDING if organization.slack_webhook_url else DeliveryStatus.RECORDED,
                next_attempt_at=now if organization.slack_webhook_url else None, created_at=now,
            ))
        HealthAlert.objects.bulk_update(ours, ["task"])
        Notification.objects.bulk_create(notifications)
        SlackDelivery.objects.bulk_create(deliveries)
        pending = [d.pk for d in deliveries if d.status == DeliveryStatus.PENDING]
        if pending:
            from ..alert_tasks import deliver_slack

            for delivery_id in pending:
                transaction.on_commit(lambda pk=delivery_id: deliver_slack.delay(organization.pk, str(pk)))
    return len(ours)


def _owners(*, organization: Organization, accounts: list[Account]) -> dict:
    """Who hears about an account's alert: its owner; with none, the fallback renewal tasks use (the manager
    of the team of its last owner, else the organization's longest-standing active manager)."""
    from renewals.services.renewals import _fallback_owners  # one rule for "who gets an unowned account's task"

    owners = {a.pk: a.owner_id for a in accounts if a.owner_id is not None}
    unowned = [a.pk for a in accounts if a.owner_id is None]
    if unowned:
        owners.update(_fallback_owners(organization=organization, account_ids=unowned))
    return owners


def _detractor_labels(*, day: dt.date, account_ids: list) -> dict:
    """account id -> label of the snapshot's top detractor (as its model version names it)."""
    labels = {}
    for account_id, key, config in HealthSnapshot.objects.filter(
        date=day, account_id__in=account_ids
    ).exclude(top_detractor="").values_list("account_id", "top_detractor", "model_version__config"):
        labels[account_id] = version_meta(config or {}).get(key, ("", key, None))[1]
    return labels


# --- texts ----------------------------------------------------------------------------------------------------

def _fmt(score) -> str:
    return "—" if score is None else f"{Decimal(score):.1f}"


def _what(alert: HealthAlert) -> str:
    if alert.kind == AlertKind.ENTERED_AT_RISK:
        return "entered At risk"
    return f"health score dropped {_fmt(alert.score_before - alert.score_after)} points in 7 days"


def _task_title(alert: HealthAlert, account_name: str) -> str:
    return f"{account_name[:120]} {_what(alert)}"


def alert_message(*, alert: HealthAlert, account_name: str) -> str:
    before, after = _fmt(alert.score_before), _fmt(alert.score_after)
    band_after = BAND_LABELS.get(alert.band_after, alert.band_after)
    if alert.kind == AlertKind.ENTERED_AT_RISK:
        band_before = BAND_LABELS.get(alert.band_before, alert.band_before)
        return f"{account_name} entered At risk: score {before} → {after} (was {band_before})."
    drop = _fmt(alert.score_before - alert.score_after)
    return f"{account_name} dropped {drop} points in 7 days: score {before} → {after} ({band_after})."


def account_link(*, organization: Organization, account_id) -> str:
    path = reverse("accounts:detail", kwargs={"org_slug": organization.slug, "account_id": account_id})
    return f"{settings.SITE_URL}{path}"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(*, alerts: list[HealthAlert], account_name: str, event: _Event, detractor_label: str,
                  link: str) -> dict:
    """The incoming-webhook body: a plain ``text`` (notifications, old clients) and one mrkdwn section."""
    lead = alerts[0]
    lines = [f"*<{link}|{_slack_escape(account_name)}>* {_what(lead)}"]
    for alert in alerts:
        lines.append(
            f"• {alert.get_kind_display()}: score {_fmt(alert.score_before)} → {_fmt(alert.score_after)} "
            f"({BAND_LABELS.get(alert.band_before, alert.band_before) or '—'} → "
            f"{BAND_LABELS.get(alert.band_after, alert.band_after)})"
        )
    if detractor_label:
        points = f" (costs {event.top_detractor_points:.0f} points)" if event.top_detractor_points else ""
        lines.append(f"Top detractor: {_slack_escape(detractor_label)}{points}")
    if event.why_changed:
        lines.append(f"Why it moved: {_slack_escape(event.why_changed)}")
    text = "\n".join(lines)
    return {
        "text": " ".join(a.message for a in alerts),  # the notification/fallback text; blocks carry the rest
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}],
    }
