"""CSM pulses: a person's own read of an account (good / neutral / concerned, with a reason).

A pulse counts in the score for ``valid_days`` days from the day it was recorded (the org's local date),
then it is stale (health/scoring/signals.py, csm_pulse). Recording one re-scores the account soon after.
"""
import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from csops.tenancy.context import current_organization
from csops.tenancy.services import Actor, audit_record, model_snapshot

from ..models import HealthModelVersion, Pulse, PulseValue, SegmentField, VersionStatus
from ..scoring import KIND_SPECS, ComponentKind

PULSE_FIELDS = ["account", "value", "reason", "valid_days", "recorded_by", "recorded_at"]
REASON_MAX_LENGTH = 2000
FALLBACK_VALIDITY_DAYS = KIND_SPECS[ComponentKind.CSM_PULSE].params["validity_days"].default  # 30


def pulse_default_validity_days(*, account: Account) -> int:
    """How long a pulse on ``account`` counts by default: the ``validity_days`` of the csm_pulse component of
    the published model that scores the account (its lifecycle stage's model, else its tier's, else the
    default one), or 30 days when that model has no pulse component. One query."""
    versions = {
        (v.model.segment_field, v.model.segment_value): v
        for v in HealthModelVersion.objects.select_related("model").filter(status=VersionStatus.PUBLISHED)
    }
    version = (versions.get((SegmentField.LIFECYCLE_STAGE, account.lifecycle_stage))
               or versions.get((SegmentField.TIER, account.tier))
               or versions.get(("", "")))
    if version is not None:
        for component in version.config.get("components", []):
            if component.get("kind") == ComponentKind.CSM_PULSE:
                days = (component.get("params") or {}).get("validity_days")
                if isinstance(days, int) and 1 <= days <= 365:
                    return days
    return FALLBACK_VALIDITY_DAYS


def pulse_stale_on(*, pulse: Pulse, organization) -> dt.date:
    """The first day on which ``pulse`` no longer counts: recorded day + valid_days (org's local dates).
    Recorded 1 May with 30 days counts through 30 May and is stale from 31 May."""
    recorded_on = timezone.localtime(pulse.recorded_at, organization.tzinfo).date()
    return recorded_on + dt.timedelta(days=pulse.valid_days)


@transaction.atomic
def pulse_record(
    *, account: Account, actor: Actor, value: str, reason: str, valid_days: int | None = None,
) -> Pulse:
    """Record a pulse on ``account`` by ``actor`` and re-score the account after commit.

    ``valid_days`` defaults to the account's health model's pulse validity. Raises ``ValidationError``
    (field → messages) on a bad value, an empty reason or a validity outside 1–365 days; nothing is written."""
    errors: dict[str, list[str]] = {}
    if value not in PulseValue.values:
        errors["value"] = [f"Choose one of: {', '.join(PulseValue.values)}."]
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = ["Say why: what did you see or hear?"]
    elif len(reason) > REASON_MAX_LENGTH:
        errors["reason"] = [f"Keep the reason under {REASON_MAX_LENGTH} characters (it has {len(reason)})."]
    if valid_days is not None and (isinstance(valid_days, bool) or not isinstance(valid_days, int)
                                   or not 1 <= valid_days <= 365):
        errors["valid_days"] = ["A pulse counts for 1 to 365 days."]
    if errors:
        raise ValidationError(errors)
    organization = current_organization()
    pulse = Pulse.objects.create(
        organization=organization, account=account, value=value, reason=reason,
        valid_days=valid_days or pulse_default_validity_days(account=account),
        recorded_by=actor.user, recorded_at=timezone.now(),
    )
    audit_record(actor=actor, action="pulse.create", obj=pulse, after=model_snapshot(pulse, PULSE_FIELDS))

    from ..tasks import health_recompute_accounts  # late import: tasks import services

    health_recompute_accounts.delay_on_commit(organization.id, [str(account.pk)])
    return pulse
