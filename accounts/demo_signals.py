"""Demo phases for health: a year of signals (usage, surveys, tickets, CSM pulses) and the snapshots they imply.

The signals are generated so that the demo's validation page (health/validation.py) shows a model that works,
honestly. The outcomes are not invented here: they are read back from the contract history the contracts
phase wrote — every churn and contraction day of the last year, as the revenue ledger defines them
(``health.validation.revenue_events``), plus the open renewals a CSM already called lost or at risk (the churn
and contraction still to come). An account with such an event *degrades* over the 60–240 days before it:
active users and logins fall, key features go unused, NPS answers turn to detractors, tickets come more often,
with higher priority and escalations, and its CSM's pulse sours. Degradation rises from 0 at the onset to the
event's severity on the day of the event (fast at first: a square-root curve); after a contraction the
account recovers over ~2 months.

It is deliberately imperfect: some churners leave silently (no visible decline), some healthy accounts go
through a rough patch and stay, low adopters stay customers, new accounts ramp up, and every signal is noisy —
so the score's AUC lands around 0.75–0.85, not 1.0. And, as in any real portfolio, about a fifth of the accounts
with nothing decided yet are in trouble today (``STRUGGLING_SHARE``): without them the demo's portfolio read as
~90 % healthy with a handful at risk, and the at-risk views had almost nothing to show.

``seed_health_signals`` writes the signals (column-wise, through ``ctx.writer``) and publishes a version of the
default health model that knows the organization's key features (feature breadth); ``accounts/demo_health_history.py``
then backfills the snapshots. Deterministic per seed: every array comes from the phase's own random streams.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from health.models import HealthModel, Pulse
from health.scoring import default_model
from health.validation import CHURN, revenue_events
from renewals.models import Renewal
from renewals.selectors import lines_frame

from .demo_activity import _owner_at
from .models import Contact, SupportTicket, SurveyResponse, UsageRecord

if TYPE_CHECKING:
    from .demo import DemoContext

ENT, MM, SMB, TT = range(4)
WINDOW = 365  # days of signals, ending today
KEY_FEATURES = {
    "northwind": ("dashboards", "scheduled_reports", "data_connectors"),
    "globex": ("kubernetes_clusters", "object_storage", "managed_postgres"),
}
FEATURE_ADOPTION = (0.9, 0.65, 0.45)  # share of accounts using each key feature when healthy
SEATS = ((150, 1500), (40, 300), (8, 60), (2, 12))  # licensed seats per tier (log-uniform)
LOGINS_PER_USER = (1.4, 1.2, 1.0, 0.8)  # on a working day
TICKETS_PER_DAY = (0.08, 0.04, 0.015, 0.006)
PULSE_EVERY_DAYS = (30, 45, 90, 0)  # tech-touch accounts get no CSM pulses
# Degradation before an event: (share that shows no decline, severity range)
SILENT_CHURN, CHURN_SEVERITY = 0.2, (0.55, 1.0)
SILENT_CONTRACTION, CONTRACTION_SEVERITY = 0.5, (0.2, 0.5)
LEAD_DAYS = (60, 240)
RECOVERY_DAYS = 60
ROUGH_PATCH_SHARE, ROUGH_PATCH_SEVERITY = 0.1, (0.35, 0.8)  # healthy accounts that dip and stay
# Accounts in trouble right now with nothing decided yet (no churn, contraction or lost/at-risk call): their decline
# began weeks or months ago and is still going — the accounts a health score exists to surface before a renewal
# call does. Their outcome lies beyond today, so they never count in the validation's observed horizons as
# churners; the older part of their decline counts there as false alarms, as it would in a real portfolio.
STRUGGLING_SHARE, STRUGGLING_SEVERITY, STRUGGLING_SINCE = 0.2, (0.45, 1.0), (30, 150)
LOW_ADOPTER_SHARE = 0.15
# A year of daily signals is ~1,500 usage rows per account: past this size the demo keeps health empty (the
# benchmarks seed 100k accounts to measure the pages, not the health engine).
MAX_ACCOUNTS = 20_000

NPS_COMMENTS = {
    "promoter": ("The dashboards are part of every exec meeting now.", "Support is quick and knows the product.",
                 "Rolled out to two more teams this quarter.", "Reliable, and the roadmap matches what we need.", ""),
    "passive": ("Does the job; reporting could be more flexible.", "Good product, pricing is getting steep.",
                "Onboarding new users takes longer than it should.", "", ""),
    "detractor": ("We barely use it since our champion left.", "Too many outages this quarter.",
                  "Tickets take days to get a real answer.", "Hard to justify the renewal at this price.",
                  "Missing features we were promised at signing.", ""),
}
CSAT_COMMENTS = ("Solved fast, thanks!", "Took a few rounds but got there.", "Still not really fixed.", "", "")
TICKET_SUBJECTS = ("Cannot log in with SSO", "Dashboard loads slowly", "Export to CSV fails", "Question about billing",
                   "Scheduled report not delivered", "Data connector sync error", "Permissions for a new team",
                   "API rate limit reached", "Wrong numbers after upgrade", "How do I set up alerts?",
                   "Outage: nothing loads", "Request: custom fields")
PULSE_REASONS = {
    "good": ("Strong QBR, expanding use in a second team.", "Champion engaged, roadmap call went well.",
             "Adoption steady, happy with support."),
    "neutral": ("Quiet lately; usage flat.", "New stakeholder, relationship still forming.",
                "Some friction on pricing, nothing alarming."),
    "concerned": ("Usage falling and the champion is leaving.", "Escalations piling up, exec unhappy.",
                  "They asked about contract terms and a competitor came up.", "No response to three emails."),
}


def key_features(ctx: DemoContext) -> tuple[str, ...]:
    return KEY_FEATURES.get(ctx.spec.slug, ("feature_a", "feature_b", "feature_c"))


# --- Which accounts degrade, and when ----------------------------------------------------------------
def _account_index(ctx: DemoContext, ids) -> np.ndarray:
    """Row numbers in ctx.accounts of the given account ids (UUIDs or hex strings)."""
    position = {h: i for i, h in enumerate(ctx.accounts.ids)}
    return np.array([position[getattr(a, "hex", a)] for a in ids], dtype=np.int64)


def _active_days(ctx: DemoContext, lines: pd.DataFrame) -> np.ndarray:
    """n × WINDOW booleans: the account had recurring revenue that day (column WINDOW − 1 is today)."""
    n = ctx.accounts.n
    active = np.zeros((n, WINDOW + 1), dtype=np.int32)  # +1 column: a difference array
    recurring = lines[lines["is_recurring"]]
    if recurring.empty:
        return np.zeros((n, WINDOW), dtype=bool)
    first = pd.Timestamp(ctx.today) - pd.Timedelta(days=WINDOW - 1)
    start = ((recurring["start_date"] - first).dt.days).to_numpy()
    end = ((recurring["end_date"] - first).dt.days).fillna(WINDOW).to_numpy()
    start, end = np.clip(start, 0, WINDOW).astype(np.int64), np.clip(end, 0, WINDOW).astype(np.int64)
    rows = _account_index(ctx, recurring["account_id"])
    keep = end > start
    np.add.at(active, (rows[keep], start[keep]), 1)
    np.add.at(active, (rows[keep], end[keep]), -1)
    return np.cumsum(active, axis=1)[:, :WINDOW] > 0


def _outcomes(ctx: DemoContext, lines: pd.DataFrame) -> pd.DataFrame:
    """Churn and contraction days (offsets from today) of the past year by the ledger, and the coming ones the
    CSMs already called: open renewals forecast lost (churn) or at risk (contraction)."""
    since = ctx.today - dt.timedelta(days=WINDOW + LEAD_DAYS[1])
    past = revenue_events(lines, since=since, until=ctx.today)
    frame = pd.DataFrame({
        "row": _account_index(ctx, past["account_id"]),
        "day": (past["date"] - pd.Timestamp(ctx.today)).dt.days.to_numpy(dtype=np.int64),
        "churn": (past["kind"] == CHURN).to_numpy(),
    })
    called = list(Renewal.objects.filter(stage__in=["upcoming", "engaged", "negotiating"],
                                         forecast_category__in=["lost", "at_risk"],
                                         renewal_date__lte=ctx.today + dt.timedelta(days=LEAD_DAYS[1]))
                  .values_list("account_id", "renewal_date", "forecast_category"))
    if called:
        frame = pd.concat([frame, pd.DataFrame({
            "row": _account_index(ctx, [a for a, _, _ in called]),
            "day": np.array([(d - ctx.today).days for _, d, _ in called], dtype=np.int64),
            "churn": np.array([c == "lost" for _, _, c in called]),
        })], ignore_index=True)
    return frame


def degradation(ctx: DemoContext, rng: np.random.Generator, outcomes: pd.DataFrame) -> np.ndarray:
    """n × WINDOW in [0, 1]: how far each account has declined each day (0 = its normal self)."""
    n = ctx.accounts.n
    days = np.arange(-(WINDOW - 1), 1)
    decline = np.zeros((n, WINDOW))
    k = len(outcomes)
    churn = outcomes["churn"].to_numpy()
    silent = rng.random(k) < np.where(churn, SILENT_CHURN, SILENT_CONTRACTION)
    severity = np.where(churn, rng.uniform(*CHURN_SEVERITY, k), rng.uniform(*CONTRACTION_SEVERITY, k))
    severity = np.where(silent, rng.uniform(0.0, 0.15, k), severity)
    # Most declines start months ahead; some only weeks before (a square root skews the lead to the long end).
    lead = np.round(LEAD_DAYS[0] + (LEAD_DAYS[1] - LEAD_DAYS[0]) * np.sqrt(rng.random(k))).astype(np.int64)
    for row, day, sev, lag in zip(outcomes["row"].tolist(), outcomes["day"].tolist(), severity.tolist(),
                                  lead.tolist(), strict=True):
        ramp = np.sqrt(np.clip((days - (day - lag)) / lag, 0, 1)) * sev  # visible early, worst at the event
        after = days >= day
        ramp[after] = sev * np.clip(1 - (days[after] - day) / RECOVERY_DAYS, 0, 1)
        np.maximum(decline[row], ramp, out=decline[row])
    # Rough patches: accounts with no event that dip for a few months and stay customers (false alarms).
    quiet = np.setdiff1d(np.arange(n), outcomes["row"].to_numpy())
    patched = quiet[rng.random(quiet.size) < ROUGH_PATCH_SHARE]
    for row in patched.tolist():
        start, length = int(rng.integers(-WINDOW, -30)), int(rng.integers(60, 150))
        sev = rng.uniform(*ROUGH_PATCH_SEVERITY)
        x = (days - start) / length
        bump = np.clip(np.minimum(x * 2, 2 - x * 2), 0, 1) * sev  # up over the first half, back down
        np.maximum(decline[row], bump, out=decline[row])
    steady = np.setdiff1d(quiet, patched)
    struggling = steady[rng.random(steady.size) < STRUGGLING_SHARE]
    for row in struggling.tolist():
        since, sev = int(rng.integers(*STRUGGLING_SINCE)), rng.uniform(*STRUGGLING_SEVERITY)
        ramp = np.sqrt(np.clip((days + since) / since, 0, 1)) * sev  # began `since` days ago, worst today
        np.maximum(decline[row], ramp, out=decline[row])
    return decline


# --- Phase: signals ----------------------------------------------------------------------------------
def seed_health_signals(ctx: DemoContext) -> None:
    if ctx.accounts.n > MAX_ACCOUNTS:
        ctx.counts[f"health signals: not generated above {MAX_ACCOUNTS:,} accounts"] = ctx.accounts.n
        return
    lines = lines_frame()
    active = _active_days(ctx, lines)
    outcomes = _outcomes(ctx, lines)
    decline = degradation(ctx, ctx.rng("health-decline"), outcomes)
    health = 1.0 - decline
    _write_usage(ctx, active, health)
    csat_answers = _write_tickets_and_csat(ctx, active, health)
    _write_nps(ctx, active, health, first_number=csat_answers)
    _write_pulses(ctx, active, health)
    ctx.writer.wait()  # the writer's COPY runs on this connection in a background thread: no query meanwhile
    _publish_key_features(ctx)
    ctx.counts["health: churn/contraction events behind the demo signals"] = len(outcomes)


def _offsets(cols: np.ndarray) -> np.ndarray:
    """Column numbers of the window → day offsets from today (≤ 0)."""
    return cols - (WINDOW - 1)


def _write_usage(ctx: DemoContext, active: np.ndarray, health: np.ndarray) -> None:
    f, rng = ctx.accounts, ctx.rng("health-usage")
    n = f.n
    tier = f.tier.astype(np.int64)
    low, high = np.array(SEATS)[tier].T
    seats = np.round(np.exp(rng.uniform(np.log(low), np.log(high)))).astype(np.int64)
    base = np.where(rng.random(n) < LOW_ADOPTER_SHARE, rng.uniform(0.25, 0.5, n), rng.uniform(0.55, 0.95, n))
    # New accounts ramp up over their first 60 active days.
    tenure = np.cumsum(active, axis=1)
    ramp = np.clip(0.3 + tenure / 60, 0, 1)
    utilisation = base[:, None] * ramp * (0.25 + 0.75 * health) * rng.normal(1, 0.04, (n, WINDOW))
    users = np.clip(np.round(seats[:, None] * utilisation), 0, None)
    weekday = (ctx.today.weekday() + _offsets(np.arange(WINDOW))) % 7
    workday = np.where(weekday < 5, 1.0, 0.2)
    logins = rng.poisson(users * np.array(LOGINS_PER_USER)[tier][:, None] * workday[None, :] * (0.5 + 0.5 * health))
    # Seats come from billing once a month, active users (a 7-day count) once a week, both also on an account's
    # first day; logins and key features are daily (the trend and breadth windows sum them).
    first_day = np.diff(active, axis=1, prepend=False)
    days_ago = WINDOW - 1 - np.arange(WINDOW)
    metrics = {"licensed_seats": (np.broadcast_to(seats[:, None], (n, WINDOW)), first_day | (days_ago % 30 == 0)),
               "active_users": (users, first_day | (days_ago % 7 == 0)),  # a reading of 0 users is a reading
               "logins": (logins, logins > 0)}
    for j, name in enumerate(key_features(ctx)):
        adopted = rng.random(n) < FEATURE_ADOPTION[j]
        give_up = rng.uniform(0.25, 0.8, n)  # the health below which the account stops using it
        used = (adopted[:, None] & (health > give_up[:, None]) & (ramp > 0.6)
                & (rng.random((n, WINDOW)) < 0.55 * workday[None, :]))
        metrics[name] = (np.where(used, rng.poisson(1 + users * 0.05) + 1, 0), used)
    bar = ctx.progress("usage", n)
    for lo, hi in ctx.chunks(n, 200):
        for name, (values, recorded) in metrics.items():
            block = np.asarray(values[lo:hi], dtype=np.float64)
            rows, cols = np.nonzero(active[lo:hi] & recorded[lo:hi])
            if rows.size == 0:
                continue
            ctx.writer.insert(UsageRecord, {
                "account": [f.ids[r] for r in (rows + lo).tolist()], "date": ctx.dates(_offsets(cols)),
                "metric": [name] * rows.size, "value": block[rows, cols],
            })
        bar.update(hi - lo)
    bar.close()


def _write_tickets_and_csat(ctx: DemoContext, active: np.ndarray, health: np.ndarray) -> int:
    """Tickets, more and worse on a struggling account; CSAT answers on some closed ones (returns how many)."""
    f, rng = ctx.accounts, ctx.rng("health-tickets")
    rate = np.array(TICKETS_PER_DAY)[f.tier.astype(np.int64)][:, None] * (1 + 3 * (1 - health))
    counts = rng.poisson(rate) * active
    rows, cols = np.nonzero(counts)
    rows, cols = np.repeat(rows, counts[rows, cols]), np.repeat(cols, counts[rows, cols])
    k = rows.size
    trouble = 1 - health[rows, cols]
    u = rng.random(k)
    urgent, high, low = 0.03 + 0.15 * trouble, 0.10 + 0.30 * trouble, 0.2 * health[rows, cols]
    priority = np.select([u < urgent, u < urgent + high, u < urgent + high + low], ["urgent", "high", "low"], "normal")
    escalated = rng.random(k) < (0.02 + 0.3 * trouble) * np.where(priority == "urgent", 2.0, 1.0)
    mean_days = np.select([priority == "urgent", priority == "high", priority == "low"], [1.5, 3.0, 8.0], 5.0)
    resolve_days = rng.exponential(mean_days * (1 + 2 * trouble))
    days_ago = -_offsets(cols)
    opened = ctx.business_epoch(np.maximum(days_ago, 0), rng)
    now = int(ctx.now.timestamp()) - 60
    closed = opened + (resolve_days * 86_400).astype(np.int64)
    is_open = closed > now
    status = np.where(is_open, np.where(rng.random(k) < 0.6, "open", "pending"),
                      np.where(closed > now - 7 * 86_400, "solved", "closed"))
    closed = np.where(is_open, 0, closed)
    subjects = np.array(TICKET_SUBJECTS)[rng.integers(0, len(TICKET_SUBJECTS), k)]
    ids = ctx.new_ids(SupportTicket, rng, k)
    for lo, hi in ctx.chunks(k, 20_000):
        ctx.writer.insert(SupportTicket, {
            "id": ids[lo:hi], "account": [f.ids[r] for r in rows[lo:hi].tolist()],
            "external_id": [f"{ctx.spec.slug.upper()[:2]}-{100_000 + i}" for i in range(lo, hi)],
            "subject": subjects[lo:hi].tolist(), "priority": priority[lo:hi].tolist(), "status": status[lo:hi].tolist(),
            "escalated": escalated[lo:hi].tolist(), "opened_at": ctx.timestamps(opened[lo:hi]),
            "closed_at": ctx.timestamps(closed[lo:hi]),
        })
    # CSAT: some closed tickets get an answer, worse on a struggling account.
    answered = np.nonzero(~is_open & (rng.random(k) < 0.4))[0]
    mood = health[rows[answered], cols[answered]]
    score = np.clip(np.round(2.0 + 2.8 * mood + rng.normal(0, 0.8, answered.size)), 1, 5)
    responded = np.minimum(closed[answered] + rng.integers(600, 2 * 86_400, answered.size), now)
    comments = np.array(CSAT_COMMENTS)[rng.integers(0, len(CSAT_COMMENTS), answered.size)]
    _insert_surveys(ctx, rng, rows[answered], ["csat"] * answered.size, score, responded, comments, contacts=None,
                    first_number=0)
    return answered.size


def _contacts(ctx: DemoContext) -> list[list[str]]:
    """Each account's contact ids (hex), primary first."""
    ctx.writer.wait()  # usage and tickets may still be going out (COPY on this connection, background thread)
    position = {h: i for i, h in enumerate(ctx.accounts.ids)}
    out: list[list[str]] = [[] for _ in range(ctx.accounts.n)]
    for account_id, contact_id in Contact.objects.order_by("account_id", "-is_primary", "id").values_list(
            "account_id", "id"):
        out[position[account_id.hex]].append(contact_id.hex)
    return out


def _write_nps(ctx: DemoContext, active: np.ndarray, health: np.ndarray, *, first_number: int) -> None:
    """A relationship NPS survey twice a year to every contact (about 45% answer), on the account's own cycle."""
    f, rng = ctx.accounts, ctx.rng("health-nps")
    contacts = _contacts(ctx)
    mood = rng.normal(0, 0.8, f.n)
    cycle = rng.integers(0, 182, f.n)
    rows, people, cols = [], [], []
    for i, ids in enumerate(contacts):
        for wave in (cycle[i], cycle[i] + 182):
            if wave < WINDOW and active[i, wave]:
                for contact in ids:
                    rows.append(i)
                    people.append(contact)
                    cols.append(min(wave + int(rng.integers(0, 10)), WINDOW - 1))
    rows, cols = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
    answered = rng.random(rows.size) < 0.45
    people = [p for p, a in zip(people, answered.tolist(), strict=True) if a]
    rows, cols = rows[answered], cols[answered]
    score = np.clip(np.round(2.5 + 6.8 * health[rows, cols] + mood[rows] + rng.normal(0, 1.3, rows.size)), 0, 10)
    responded = ctx.business_epoch(np.maximum(-_offsets(cols), 0), rng)
    group = np.select([score >= 9, score >= 7], ["promoter", "passive"], "detractor")
    picks = rng.integers(0, 1 << 30, rows.size).tolist()
    comments = [NPS_COMMENTS[g][p % len(NPS_COMMENTS[g])] for g, p in zip(group.tolist(), picks, strict=True)]
    _insert_surveys(ctx, rng, rows, ["nps"] * rows.size, score, responded, comments, contacts=people,
                    first_number=first_number)


def _insert_surveys(ctx, rng, rows, kinds, score, responded, comments, *, contacts, first_number: int) -> None:
    f = ctx.accounts
    k = len(rows)
    start = first_number
    ids = ctx.new_ids(SurveyResponse, rng, k)
    for lo, hi in ctx.chunks(k, 20_000):
        ctx.writer.insert(SurveyResponse, {
            "id": ids[lo:hi], "account": [f.ids[r] for r in rows[lo:hi].tolist()],
            "contact": contacts[lo:hi] if contacts is not None else [None] * (hi - lo),
            "external_id": [f"resp-{start + i:07d}" for i in range(lo, hi)], "kind": list(kinds[lo:hi]),
            "score": np.asarray(score[lo:hi], dtype=np.int64).tolist(),
            "responded_at": ctx.timestamps(responded[lo:hi]),
            "comment": list(comments[lo:hi]),
        })


def _write_pulses(ctx: DemoContext, active: np.ndarray, health: np.ndarray) -> None:
    """CSM pulses, roughly monthly on enterprise accounts, less often down-market; valid 30 days."""
    f, rng = ctx.accounts, ctx.rng("health-pulses")
    every = np.array(PULSE_EVERY_DAYS, dtype=np.float64)[f.tier.astype(np.int64)]
    rate = np.where(every > 0, 1 / np.maximum(every, 1), 0)
    hits = (rng.random((f.n, WINDOW)) < rate[:, None]) & active
    rows, cols = np.nonzero(hits)
    read = health[rows, cols] + rng.normal(0, 0.15, rows.size)  # what the CSM perceives
    value = np.select([read > 0.75, read > 0.45], ["good", "neutral"], "concerned")
    days_ago = -_offsets(cols)
    owner = _owner_at(ctx, rows, days_ago)
    picks = rng.integers(0, 1 << 30, rows.size).tolist()
    reasons = [PULSE_REASONS[v][p % len(PULSE_REASONS[v])] for v, p in zip(value.tolist(), picks, strict=True)]
    ctx.writer.insert(Pulse, {
        "id": ctx.new_ids(Pulse, rng, rows.size), "account": [f.ids[r] for r in rows.tolist()],
        "value": value.tolist(), "reason": reasons, "valid_days": [30] * rows.size,
        "recorded_by": [o or None for o in owner.tolist()],
        "recorded_at": ctx.timestamps(ctx.business_epoch(np.maximum(days_ago, 0), rng)),
    })


def _publish_key_features(ctx: DemoContext) -> None:
    """The default model's next version knows the organization's key features (feature breadth joins)."""
    from csops.tenancy.services import Actor
    from health.services.models import health_model_draft_update, health_model_publish

    model = HealthModel.objects.get(segment_field="", segment_value="")
    config = default_model(key_features=key_features(ctx)).to_dict()
    actor = Actor()
    health_model_draft_update(model=model, actor=actor, components=config["components"],
                              healthy_min=config["healthy_min"], at_risk_below=config["at_risk_below"],
                              min_present_weight=config["min_present_weight"])
    health_model_publish(model=model, actor=actor, notes="Key features for feature breadth: "
                         + ", ".join(key_features(ctx)) + ".")
