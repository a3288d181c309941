"""Renewals: sync from contract lines, the CSM's forecast call, closing with an outcome, checkpoint sweep."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account, OwnerAssignment
from csops.pgarrays import array_literal
from csops.tenancy.context import current_organization, tenant_context
from csops.tenancy.models import AuditEvent, Membership, Organization, Role
from csops.tenancy.services import Actor, audit_record, model_snapshot

from .. import ledger
from ..models import (
    DEFAULT_CHECKPOINT_DAYS,
    RENEWED_OUTCOMES,
    BillingPeriod,
    ContractLine,
    Renewal,
    RenewalCheckpoint,
    RenewalCheckpointHit,
    RenewalOutcome,
    RenewalStage,
)
from ..periods import add_months, org_today
from ..selectors import IN_CHUNK, cents_of, chunked
from .contracts import LINE_FIELDS, WRITE_BATCH, _bulk_update_locked_rows, _money, _RowInvalid, account_arr_sync

# ---------------------------------------------------------------------------------------------------------------
# Renewals: one per upcoming contract end, forecast by the CSM, closed with an outcome, raised at checkpoints.
# ---------------------------------------------------------------------------------------------------------------

# Renewals exist for contract ends up to this far ahead: a whole annual term renewed up to ~6 months early.
RENEWAL_HORIZON_DAYS = 550
SWEEP_BATCH = 1_000
_UNSET = object()
RENEWAL_FORECAST_FIELDS = ["forecast_arr", "forecast_category", "probability", "risk_reason", "notes", "stage"]
RENEWAL_CLOSE_FIELDS = ["stage", "outcome", "final_arr", "closed_at", "closed_by", "health_band_at_close"]


@dataclass
class RenewalSyncResult:
    created: int = 0
    updated: int = 0  # open renewals whose target changed
    removed: int = 0  # open renewals no contract ends on any more, untouched by a CSM: deleted
    orphaned: int = 0  # the same, but with a CSM's call or notes: kept, target set to 0
    accounts_renewal_date_changed: int = 0


def renewal_checkpoints_for(organization: Organization) -> list[int]:
    """The organization's checkpoint days (T-`days_before`), largest first. An organization that has none
    configured gets the defaults T-180, T-120, T-90 and T-30 (created once; safe under concurrent calls)."""
    with tenant_context(organization):
        days = list(RenewalCheckpoint.objects.order_by("-days_before").values_list("days_before", flat=True))
        if not days:
            RenewalCheckpoint.objects.bulk_create(
                [RenewalCheckpoint(organization=organization, days_before=d) for d in DEFAULT_CHECKPOINT_DAYS],
                ignore_conflicts=True,
            )
            days = list(RenewalCheckpoint.objects.order_by("-days_before").values_list("days_before", flat=True))
    return days


def _is_untouched(row: dict) -> bool:
    return (
        row["stage"] == RenewalStage.UPCOMING and row["forecast_arr"] is None and row["forecast_category"] is None
        and row["probability"] is None and not row["notes"] and not row["risk_reason"]
    )


@transaction.atomic
def renewals_sync(*, as_of: dt.date, account_ids=None) -> RenewalSyncResult:
    """Make the open renewals match the contract lines: one renewal per (account, contract end date) for
    every recurring line ending in [as_of, as_of + RENEWAL_HORIZON_DAYS], whose target is the Σ ARR of the
    account's recurring lines ending that day. Closed renewals are history and never touched. An open
    renewal no line ends on any more (the CRM moved or removed the end date) is deleted when no CSM has
    worked it, else kept with a target of 0 so its notes and call are not lost.

    Then `Account.renewal_date` becomes the account's next open renewal date (on or after `as_of`) for every
    account with contract lines (empty if it has none); accounts without lines keep the date typed by hand.

    Set-wise: a constant number of queries per 1,000 changed rows; concurrent runs are safe (inserts ignore
    rows another run inserted first; updates lock the rows they write). `account_ids` narrows the sync to
    those accounts (used after closing a renewal). Runs in the current tenant context."""
    organization = current_organization()
    result = RenewalSyncResult()
    horizon = as_of + dt.timedelta(days=RENEWAL_HORIZON_DAYS)
    lines = ContractLine.objects.filter(is_recurring=True, end_date__gte=as_of, end_date__lte=horizon)
    renewals = Renewal.objects.filter(renewal_date__gte=as_of, renewal_date__lte=horizon)
    if account_ids is not None:
        account_ids = list(dict.fromkeys(account_ids))
        lines, renewals = lines.filter(account_id__in=account_ids), renewals.filter(account_id__in=account_ids)
    # The diff is computed by the database, so only what changes crosses the wire (a no-op sync on 100k
    # accounts reads almost nothing): contract ends with no renewal yet, and open renewals whose target no
    # longer equals the Σ ARR of the lines ending on their date.
    has_renewal = Renewal.objects.filter(account_id=OuterRef("account_id"), renewal_date=OuterRef("end_date"))
    to_create = [
        Renewal(organization=organization, account_id=row["account_id"], renewal_date=row["end_date"],
                target_arr=ledger.cents_to_decimal(int(row["target_cents"])))
        for row in lines.filter(~Exists(has_renewal)).order_by().values("account_id", "end_date").annotate(
            target_cents=Sum(cents_of("arr")))
    ]
    Renewal.objects.bulk_create(to_create, batch_size=WRITE_BATCH, ignore_conflicts=True)
    result.created = len(to_create)

    ending_there = (
        ContractLine.objects.filter(is_recurring=True, account_id=OuterRef("account_id"),
                                    end_date=OuterRef("renewal_date"))
        .order_by().values("account_id").annotate(total=Sum(cents_of("arr"))).values("total")[:1]
    )
    stale = (
        renewals.exclude(stage=RenewalStage.CLOSED)
        .annotate(target_cents=cents_of("target_arr"),
                  now_cents=Coalesce(Subquery(ending_there, output_field=BigIntegerField()), Value(0)))
        .exclude(target_cents=F("now_cents"))
    )
    new_target: dict = {}
    to_delete = []
    for row in stale.order_by().values("id", "now_cents", "stage", "forecast_arr", "forecast_category",
                                       "probability", "notes", "risk_reason"):
        cents = int(row["now_cents"])
        if cents == 0 and _is_untouched(row):
            to_delete.append(row["id"])
            continue
        new_target[row["id"]] = cents
        result.orphaned += cents == 0
    for chunk in chunked(to_delete, IN_CHUNK):
        result.removed += Renewal.objects.filter(pk__in=chunk, stage=RenewalStage.UPCOMING).delete()[1].get(
            Renewal._meta.label, 0)
    now = timezone.now()
    locked = [
        renewal
        for chunk in chunked(list(new_target), IN_CHUNK)
        for renewal in Renewal.objects.select_for_update().filter(pk__in=chunk).exclude(stage=RenewalStage.CLOSED)
    ]
    for renewal in locked:
        renewal.target_arr = ledger.cents_to_decimal(new_target[renewal.pk])
        renewal.updated_at = now
    _bulk_update_locked_rows(Renewal, locked, ["target_arr", "updated_at"])
    result.updated = len(locked) - result.orphaned
    result.accounts_renewal_date_changed = _account_renewal_dates_sync(as_of=as_of, account_ids=account_ids)
    return result


def _account_renewal_dates_sync(*, as_of: dt.date, account_ids: list | None) -> int:
    """Account.renewal_date := the earliest open renewal on or after `as_of`, for the given accounts, or else
    for every account with contract lines or renewals (accounts with neither keep a date typed by hand)."""
    upcoming = Renewal.objects.filter(renewal_date__gte=as_of).exclude(stage=RenewalStage.CLOSED)
    if account_ids is not None:
        accounts = Account.objects.filter(pk__in=account_ids)
    else:
        accounts = Account.objects.filter(
            Exists(ContractLine.objects.filter(account_id=OuterRef("pk")))
            | Exists(Renewal.objects.filter(account_id=OuterRef("pk")))
        )
    next_open = upcoming.filter(account_id=OuterRef("pk")).order_by("renewal_date").values("renewal_date")[:1]
    # Only the accounts whose date differs come back (NULL-safe comparison spelled out).
    differs = (
        Q(renewal_date__isnull=True, next_date__isnull=False) | Q(renewal_date__isnull=False, next_date__isnull=True)
        | (Q(renewal_date__isnull=False, next_date__isnull=False) & ~Q(renewal_date=F("next_date")))
    )
    changed = dict(
        accounts.annotate(next_date=Subquery(next_open)).filter(differs).order_by().values_list("id", "next_date")
    )
    if not changed:
        return 0
    now = timezone.now()
    locked = [
        account
        for chunk in chunked(list(changed), IN_CHUNK)
        for account in Account.objects.select_for_update().filter(pk__in=chunk)
    ]
    for account in locked:
        account.renewal_date = changed[account.pk]
        account.updated_at = now
    _bulk_update_locked_rows(Account, locked, ["renewal_date", "updated_at"])
    return len(locked)


def _locked_open_renewal(renewal: Renewal) -> Renewal:
    locked = Renewal.objects.select_for_update().select_related("account").get(pk=renewal.pk)
    if not locked.is_open:
        raise ValidationError("This renewal is closed: its outcome and amounts are history and cannot change.")
    return locked


@transaction.atomic
def renewal_update_forecast(
    *,
    renewal: Renewal,
    actor: Actor,
    forecast_arr=_UNSET,
    forecast_category=_UNSET,
    probability=_UNSET,
    risk_reason=_UNSET,
    notes=_UNSET,
    stage=_UNSET,
) -> Renewal:
    """Record the CSM's call on an open renewal: only the arguments given change (None clears the amount,
    category or probability). Probability is 0–100 %, the amount a non-negative decimal with 2 places; the
    stage moves between upcoming, engaged and negotiating (closing takes an outcome: `renewal_close`).
    Closed renewals are read-only. Leaves an audit event with what changed."""
    renewal = _locked_open_renewal(renewal)
    before = model_snapshot(renewal, RENEWAL_FORECAST_FIELDS)
    given = {
        name: value for name, value in {
            "forecast_arr": forecast_arr, "forecast_category": forecast_category, "probability": probability,
            "risk_reason": risk_reason, "notes": notes, "stage": stage,
        }.items() if value is not _UNSET
    }
    errors: dict[str, list[str]] = {}
    if given.get("stage") == RenewalStage.CLOSED:
        errors["stage"] = ["Close a renewal with its outcome and final amount, not by setting its stage."]
    if "forecast_arr" in given and given["forecast_arr"] is not None:
        try:
            given["forecast_arr"] = _money(given["forecast_arr"], "forecast_arr")
        except _RowInvalid as problem:
            errors["forecast_arr"] = [problem.message]
        else:
            if given["forecast_arr"] < 0:
                errors["forecast_arr"] = ["The forecast amount cannot be negative."]
    if "probability" in given and given["probability"] is not None:
        value = given["probability"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            errors["probability"] = ["Probability is a whole percentage from 0 to 100."]
    # Empty means "none" for each field, whichever spelling of empty the caller used.
    if given.get("forecast_category", _UNSET) == "":
        given["forecast_category"] = None
    for name in ("notes", "risk_reason"):
        if name in given and given[name] is None:
            given[name] = ""
    if errors:
        raise ValidationError(errors)
    for name, value in given.items():
        setattr(renewal, name, value)
    renewal.full_clean(exclude=["organization", "account", "closed_by"], validate_unique=False,
                       validate_constraints=False)
    if given:
        renewal.save(update_fields=[*given, "updated_at"])
        audit_record(actor=actor, action="renewal.update_forecast", obj=renewal, before=before,
                     after=model_snapshot(renewal, RENEWAL_FORECAST_FIELDS))
    return renewal


def _validate_outcome(*, outcome: str, final_arr: Decimal, target_arr: Decimal) -> None:
    """Outcomes are the ledger's movement at the renewal date, exactly: renewed = flat (final = target),
    upsell = expansion (final > target), downsell = contraction (0 < final < target), churned = churn
    (final = 0). A renewal at a different price is an upsell or a downsell, never "renewed"."""
    if outcome not in RenewalOutcome.values:
        raise ValidationError({"outcome": [f"{outcome!r} is not an outcome ({', '.join(RenewalOutcome.values)})."]})
    rules = {
        RenewalOutcome.RENEWED: (final_arr == target_arr, "Renewed means the same ARR as the target ({t}); "
                                 "a higher or lower amount is an upsell or a downsell."),
        RenewalOutcome.UPSELL: (final_arr > target_arr, "An upsell renews for more than the target ({t})."),
        RenewalOutcome.DOWNSELL: (Decimal(0) < final_arr < target_arr,
                                  "A downsell renews for more than 0 and less than the target ({t}); "
                                  "renewing for 0 is churn."),
        RenewalOutcome.CHURNED: (final_arr == 0, "A churned renewal has a final amount of 0."),
    }
    ok, message = rules[RenewalOutcome(outcome)]
    if not ok:
        raise ValidationError({"final_arr": [message.format(t=target_arr)]})


@transaction.atomic
def renewal_close(
    *,
    renewal: Renewal,
    actor: Actor,
    outcome: str,
    final_arr=None,
    create_contract_line: bool = True,
) -> Renewal:
    """Close an open renewal with its outcome and final ARR, and apply it to the contract lines.

    Renewed / upsell / downsell: unless `create_contract_line` is False (the billing system sends the new
    term's lines itself), one recurring line for the next 12-month term starts on the renewal date
    carrying `final_arr` (product "Renewal <year>"), so the ledger sees the account continue — flat, or as
    expansion or contraction. Churned: final ARR 0 and no new line; the account's lines end on the renewal
    date, which the ledger reads as churn (or contraction, if another line keeps running). Then the account's
    ARR and next renewal are re-derived. See `_validate_outcome` for the outcome/amount rules."""
    organization = current_organization()
    renewal = _locked_open_renewal(renewal)
    if final_arr is None or final_arr == "":
        if outcome != RenewalOutcome.CHURNED:
            raise ValidationError({"final_arr": ["The final ARR is required unless the renewal churned."]})
        final_arr = Decimal("0.00")
    try:
        final_arr = _money(final_arr, "final_arr")
    except _RowInvalid as problem:
        raise ValidationError({"final_arr": [problem.message]}) from None
    if final_arr < 0:
        raise ValidationError({"final_arr": ["The final amount cannot be negative."]})
    _validate_outcome(outcome=outcome, final_arr=final_arr, target_arr=renewal.target_arr)
    before = model_snapshot(renewal, RENEWAL_CLOSE_FIELDS)
    renewal.stage, renewal.outcome, renewal.final_arr = RenewalStage.CLOSED, outcome, final_arr
    renewal.closed_at, renewal.closed_by = timezone.now(), actor.user
    renewal.health_band_at_close = renewal.account.health_band  # what the band said when the outcome came
    renewal.save(update_fields=[*RENEWAL_CLOSE_FIELDS, "updated_at"])
    audit_record(actor=actor, action="renewal.close", obj=renewal, before=before,
                 after=model_snapshot(renewal, RENEWAL_CLOSE_FIELDS))
    if outcome in RENEWED_OUTCOMES and create_contract_line:
        line = ContractLine(
            organization=organization, account=renewal.account, product=f"Renewal {renewal.renewal_date.year}",
            start_date=renewal.renewal_date, end_date=add_months(renewal.renewal_date, 12), arr=final_arr,
            billing_period=BillingPeriod.ANNUAL, is_recurring=True, currency=organization.reporting_currency,
        )
        line.full_clean(exclude=["organization", "account"], validate_unique=False, validate_constraints=False)
        line.save()
        audit_record(actor=actor, action="contract_line.create", obj=line,
                     after=model_snapshot(line, LINE_FIELDS))
    today = org_today(organization)
    account_arr_sync(account_ids=[renewal.account_id], as_of=today)
    renewals_sync(as_of=today, account_ids=[renewal.account_id])
    return renewal


# --- the checkpoint sweep --------------------------------------------------------------------------------------

CHECKPOINT_ACTIONS = ((180, "start the renewal plan"), (120, "review value and health"), (90, "confirm the plan"),
                      (0, "secure the decision"))
TASK_DUE_AFTER_CHECKPOINT = dt.timedelta(days=7)


def _checkpoint_action(days_before: int) -> str:
    return next(text for threshold, text in CHECKPOINT_ACTIONS if days_before >= threshold)


def checkpoint_task_reason(*, days_before: int, renewal_date: dt.date) -> str:
    """The task's de-duplication key for one checkpoint of one renewal."""
    return f"renewal:T-{days_before}:{renewal_date.isoformat()}"


def _fallback_owners(*, organization: Organization, account_ids: list) -> dict:
    """Who gets the task of an account with no owner: the manager of the team of its last owner (from the
    owner history), else the organization's longest-standing active manager. Four queries at most."""
    if not account_ids:
        return {}
    last_owner: dict = {}
    for chunk in chunked(account_ids, IN_CHUNK):
        history = OwnerAssignment.objects.filter(account_id__in=chunk).order_by("account_id", "-created_at")
        for account_id, new_owner_id, previous_owner_id in history.values_list(
                "account_id", "new_owner_id", "previous_owner_id"):
            if account_id not in last_owner and (new_owner_id or previous_owner_id):
                last_owner[account_id] = new_owner_id or previous_owner_id
    active = Membership.objects.filter(organization=organization, is_active=True)
    team_manager = dict(
        active.filter(user_id__in=set(last_owner.values()), team__manager__isnull=False)
        .values_list("user_id", "team__manager_id")
    )
    active_managers = set(active.filter(user_id__in=set(team_manager.values())).values_list("user_id", flat=True))
    any_manager = (
        active.filter(role=Role.MANAGER).order_by("created_at", "id").values_list("user_id", flat=True).first()
    )
    owners = {}
    for account_id in account_ids:
        manager = team_manager.get(last_owner.get(account_id))
        owners[account_id] = manager if manager in active_managers else any_manager
    return owners


def renewal_checkpoint_sweep(*, as_of: dt.date) -> int:
    """Raise a renewal task at every checkpoint that has come for an open renewal: for each open renewal and
    configured checkpoint d with renewal_date − d ≤ as_of ≤ renewal_date and no RenewalCheckpointHit yet.
    Returns the number of checkpoints raised.

    Idempotent and catch-up safe: the hit row, unique on (renewal, days_before), is inserted first and is
    what decides — a second run finds it; a run after days of downtime raises each passed checkpoint once;
    a completed or deleted task is not raised again. Two concurrent runs: the hits are inserted with ON
    CONFLICT DO NOTHING, each run reads back which of ITS hit ids made it, and only those get tasks (on
    PostgreSQL the second insert waits for the first transaction and then skips its rows).

    The task goes to the account owner; with none, to the manager of the team of the account's last owner,
    else to an active manager. It is due 7 days after the checkpoint (never before `as_of`, never after the
    renewal date); T-30 and later are high priority. Tasks are written with the same de-duplication key
    task_create uses (account, type "renewal", reason "renewal:T-<d>:<date>"): where an active task with that
    key exists already, the hit points to it instead. Set-wise: one anti-join query per configured checkpoint,
    then five statements per 1,000 checkpoints raised (one audit event per batch), each batch its own
    transaction. Runs in the current tenant context."""
    from playbooks.models import ACTIVE_STATUSES, Task, TaskPriority, TaskSource, TaskStatus, TaskType

    organization = current_organization()
    checkpoints = renewal_checkpoints_for(organization)
    if not checkpoints:
        return 0
    # One query per configured checkpoint (a handful): the open renewals it has come for and that have no hit
    # yet. The database does the anti-join, so a run with nothing to do reads nothing.
    due = []
    for days in checkpoints:
        raised_already = RenewalCheckpointHit.objects.filter(renewal_id=OuterRef("pk"), days_before=days)
        rows = (
            Renewal.objects.exclude(stage=RenewalStage.CLOSED)
            .filter(renewal_date__gte=as_of, renewal_date__lte=as_of + dt.timedelta(days=days))
            .filter(~Exists(raised_already))
            .order_by().values_list("id", "account_id", "renewal_date", "account__name", "account__owner_id")
        )
        due.extend((row, days) for row in rows)
    if not due:
        return 0
    fallback = _fallback_owners(organization=organization,
                                account_ids=list({row[1] for row, _ in due if row[4] is None}))
    raised = 0
    for batch in chunked(due, SWEEP_BATCH):
        with transaction.atomic():
            now = timezone.now()
            # Each hit is inserted already pointing at the task planned for it (foreign keys are checked at
            # commit), so a batch is: insert hits, read back which are ours, insert their tasks, read back
            # which went in — and only where an active task with the same key existed already, repoint.
            planned = [(uuid.uuid4(), uuid.uuid4(), row, days) for row, days in batch]
            mine = _insert_ignoring_conflicts(RenewalCheckpointHit, [
                {"id": hit_id, "organization_id": organization.pk, "renewal_id": row[0], "days_before": days,
                 "task_id": task_id, "created_at": now} for hit_id, task_id, row, days in planned
            ])
            if not mine:
                continue
            tasks = {}
            for hit_id, task_id, (_renewal_id, account_id, renewal_date, name, owner_id), days in planned:
                if hit_id not in mine:
                    continue
                checkpoint_day = renewal_date - dt.timedelta(days=days)
                due_on = min(renewal_date, max(as_of, checkpoint_day + TASK_DUE_AFTER_CHECKPOINT))
                tasks[hit_id] = {
                    "id": task_id, "organization_id": organization.pk, "account_id": account_id,
                    "owner_id": owner_id if owner_id is not None else fallback.get(account_id),
                    "title": f"T-{days}: renewal of {name[:100]} on {renewal_date.isoformat()} — "
                             f"{_checkpoint_action(days)}",
                    "type": TaskType.RENEWAL,
                    "reason": checkpoint_task_reason(days_before=days, renewal_date=renewal_date),
                    "description": f"Checkpoint T-{days} of the renewal on {renewal_date.isoformat()}.",
                    "priority": TaskPriority.HIGH if days <= 30 else TaskPriority.MEDIUM, "due_on": due_on,
                    "source": TaskSource.RULE, "status": TaskStatus.OPEN, "created_at": now, "updated_at": now,
                }
            inserted = _insert_ignoring_conflicts(Task, list(tasks.values()))
            skipped = {hit_id: t for hit_id, t in tasks.items() if t["id"] not in inserted}
            if skipped:
                existing = {
                    (account_id, reason): task_id
                    for task_id, account_id, reason in Task.objects.filter(
                        type=TaskType.RENEWAL, status__in=ACTIVE_STATUSES,
                        reason__in={t["reason"] for t in skipped.values()},
                        account_id__in={t["account_id"] for t in skipped.values()},
                    ).values_list("id", "account_id", "reason")
                }
                hits = {hit_id: (row, days) for hit_id, _task_id, row, days in planned}
                _bulk_update_locked_rows(RenewalCheckpointHit, [
                    RenewalCheckpointHit(id=hit_id, organization=organization, renewal_id=hits[hit_id][0][0],
                                         days_before=hits[hit_id][1], created_at=now,
                                         task_id=existing.get((task["account_id"], task["reason"])))
                    for hit_id, task in skipped.items()
                ], ["task"])
            # One audit event per batch: the rule's run, with the tasks it raised.
            AuditEvent.objects.create(
                organization=organization, action="renewal.checkpoint_sweep", object_type="task", object_id="",
                object_repr=f"{len(inserted)} renewal checkpoint tasks", created_at=now,
                after={"as_of": as_of.isoformat(), "raised": len(mine), "tasks": sorted(str(i) for i in inserted)},
            )
            raised += len(mine)
    return raised


def _insert_ignoring_conflicts(model, rows: list[dict]) -> set:
    """Insert rows given as {attname: value} (model defaults fill the rest), skipping rows that conflict
    with a unique constraint; returns the ids that went in.

    PostgreSQL: one INSERT … SELECT * FROM unnest(one array literal per column) ON CONFLICT DO NOTHING
    RETURNING id — no model instances, no read-back, and no per-row quoting on the client (psycopg2's
    execute_values mogrified every row: 7 of the worst-case sweep's 24 s). Elsewhere: bulk_create(ignore_conflicts)
    and one read-back, as before."""
    if not rows:
        return set()
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], ignore_conflicts=True)
        return set(model.objects.filter(pk__in=[row["id"] for row in rows]).values_list("pk", flat=True))
    fields = model._meta.concrete_fields
    columns = []
    for f in fields:
        if f.attname in rows[0]:
            columns.append(array_literal(f, [row[f.attname] for row in rows]))
        else:
            columns.append(array_literal(f, [f.get_default() for _ in rows]))  # callable defaults: one per row
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    arrays = ", ".join(f"%s::{f.cast_db_type(connection)}[]" for f in fields)
    # Identifiers and casts come from the model's meta; every value travels in a parameter.
    sql = (f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({names}) "  # noqa: S608
           f"SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING RETURNING id")
    with connection.cursor() as cursor:
        cursor.execute(sql, columns)
        return {row[0] for row in cursor.fetchall()}


@transaction.atomic
def contract_line_delete(*, line: ContractLine, actor: Actor) -> None:
    """Delete one contract line (entered by mistake); the account's ARR and renewals follow."""
    organization = current_organization()
    account_id = line.account_id
    audit_record(actor=actor, action="contract_line.delete", obj=line, before=model_snapshot(line, LINE_FIELDS))
    line.delete()
    today = org_today(organization)
    account_arr_sync(account_ids=[account_id], as_of=today)
    renewals_sync(as_of=today, account_ids=[account_id])
