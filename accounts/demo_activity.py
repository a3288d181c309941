"""Demo phases for what hangs off an account: contacts, a year of touchpoints, tasks, owner history.

Each phase walks the accounts in chunks, builds its rows column-wise from the account arrays
(`ctx.accounts`) and its own random stream, and writes them with `ctx.writer`. See `accounts/demo.py`.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from playbooks.models import Task

from . import demo_words as words
from .demo_bulk import RawJSON
from .models import Contact, OwnerAssignment, Touchpoint

if TYPE_CHECKING:
    from .demo import DemoContext

ENT, MM, SMB, TT = range(4)
ONBOARDING, ADOPTING, MATURE, AT_RENEWAL, CHURNED = range(5)
CONTACTS_PER_TIER = ((3, 5), (2, 4), (1, 3), (1, 2))
CHUNK_ACCOUNTS = 1000
DAY = 86_400


def _owner_at(ctx: DemoContext, idx: np.ndarray, days_ago: np.ndarray) -> np.ndarray:
    """Who owned each account `days_ago` days ago (0 = nobody): before a reassignment, the prior owner."""
    f = ctx.accounts
    before = (f.reassigned_days_ago[idx] >= 0) & (days_ago > f.reassigned_days_ago[idx])
    return np.where(before, f.prior_owner[idx], f.owner[idx])


def _ids_or_none(values: np.ndarray) -> list:
    return [v or None for v in values.tolist()]


# --- Contacts ----------------------------------------------------------------------------------------
def seed_contacts(ctx: DemoContext) -> None:
    """1–5 people per account (more on bigger accounts); the first is the primary contact."""
    f = ctx.accounts
    rng = ctx.rng("contacts")
    bounds = np.array(CONTACTS_PER_TIER)
    counts = rng.integers(bounds[f.tier, 0], bounds[f.tier, 1] + 1)
    f.primary_first_name = [""] * f.n
    f.attendees_json = [(RawJSON("[]"), RawJSON("[]"))] * f.n
    region_names = words.REGIONS
    n_first, n_last = len(words.FIRST_NAMES), len(words.LAST_NAMES)
    now_epoch = int(ctx.now.timestamp()) - 60
    bar = ctx.progress("contacts", f.n)
    for lo, hi in ctx.chunks(f.n, CHUNK_ACCOUNTS):
        chunk_counts = counts[lo:hi]
        total = int(chunk_counts.sum())
        idx = np.repeat(np.arange(lo, hi), chunk_counts)
        first_pick = rng.integers(n_first, size=total).tolist()
        last_pick = rng.integers(n_last, size=total).tolist()
        title_pick = rng.integers(0, 1 << 30, size=total).tolist()
        phone_pick = (rng.random(total) < 0.6).tolist()
        phone_digits = rng.integers(0, 10_000, size=total).tolist()
        created = np.minimum(f.created_epoch[idx] + rng.integers(0, 30 * DAY, size=total), now_epoch)
        names, emails, titles, roles, primary, phones = [], [], [], [], [], []
        pos = 0
        for i, k in zip(range(lo, hi), chunk_counts.tolist(), strict=True):
            domain = f.domains[i]
            region = region_names[f.region[i]]
            seen: set[str] = set()
            people = []
            for j in range(k):
                first = words.FIRST_NAMES[first_pick[pos]]
                last_index = last_pick[pos]
                name = f"{first} {words.LAST_NAMES[last_index]}"
                while name in seen:
                    last_index = (last_index + 1) % n_last
                    name = f"{first} {words.LAST_NAMES[last_index]}"
                seen.add(name)
                people.append(name)
                role = words.CONTACT_ROLE_ORDER[j]
                role_titles = words.CONTACT_TITLES[role]
                names.append(name)
                emails.append(f"{first}.{words.LAST_NAMES[last_index]}@{domain}".lower())
                titles.append(role_titles[title_pick[pos] % len(role_titles)])
                roles.append(role)
                primary.append(j == 0)
                if phone_pick[pos]:
                    d = phone_digits[pos]
                    phones.append(words.REGION_PHONES[region].format(
                        area=words.NA_AREA_CODES[d % len(words.NA_AREA_CODES)], n2=d % 100, n3=d % 1000, n4=d))
                else:
                    phones.append("")
                pos += 1
            f.primary_first_name[i] = people[0].split(" ")[0]
            # names come from the word lists (no quotes, backslashes or control characters): plain JSON
            f.attendees_json[i] = (RawJSON(f'["{people[0]}"]'), RawJSON('["' + '", "'.join(people[:2]) + '"]'))
        ctx.writer.insert(Contact, {
            "id": ctx.new_ids(Contact, rng, total), "account": [f.ids[i] for i in idx.tolist()], "name": names,
            "email": emails, "title": titles, "role": roles, "is_primary": primary, "phone": phones,
            "created_at": ctx.timestamps(created),
        })
        bar.update(hi - lo)
    bar.close()


# --- Touchpoints -------------------------------------------------------------------------------------
def seed_touchpoints(ctx: DemoContext) -> None:
    """A year of calls, meetings, emails, QBRs and notes, by the owner of the day. The latest one is
    exactly the account's `last_touchpoint_at` (chosen with the account); the others come before it."""
    f = ctx.accounts
    rng = ctx.rng("touchpoints")
    cumulative = np.cumsum(np.array(words.TOUCHPOINT_KIND_WEIGHTS), axis=1)
    cumulative[:, -1] = 1.0
    templates = [words.TOUCHPOINT_TEMPLATES[k] for k in words.TOUCHPOINT_KINDS]
    kinds = words.TOUCHPOINT_KINDS
    features = ctx.spec.features
    bar = ctx.progress("touchpoints", f.n)
    for lo, hi in ctx.chunks(f.n, CHUNK_ACCOUNTS):
        chunk_counts = f.n_touch[lo:hi]
        total = int(chunk_counts.sum())
        if total == 0:
            bar.update(hi - lo)
            continue
        idx = np.repeat(np.arange(lo, hi), chunk_counts)
        starts = np.cumsum(chunk_counts) - chunk_counts
        is_latest = np.zeros(total, dtype=bool)
        is_latest[starts[chunk_counts > 0]] = True
        latest_days, window = f.last_touch_days_ago[idx], f.window_days[idx]
        spread = np.maximum(window - latest_days - 1, 1)
        days_ago = latest_days + 1 + (rng.random(total) * spread).astype(np.int64)
        days_ago[is_latest] = latest_days[is_latest]
        latest_epoch = f.last_touch_epoch[idx]
        epoch = np.minimum(ctx.business_epoch(days_ago, rng), latest_epoch - 60)
        epoch[is_latest] = latest_epoch[is_latest]
        kind = (rng.random(total)[:, None] > cumulative[f.tier[idx]]).sum(axis=1)
        template_pick = rng.integers(0, 1 << 30, size=total).tolist()
        feature_pick = rng.integers(len(features), size=total).tolist()
        numbers = rng.integers(5, 95, size=total).tolist()
        summaries, attendees = [], []
        for i, k, t, feat, n in zip(idx.tolist(), kind.tolist(), template_pick, feature_pick, numbers, strict=True):
            options = templates[k]
            summaries.append(options[t % len(options)].format(
                first=f.primary_first_name[i], feature=features[feat], n=n))
            attendees.append(RawJSON("[]") if k == 4 else f.attendees_json[i][0 if k == 2 else 1])
        stamps = ctx.timestamps(epoch)
        ctx.writer.insert(Touchpoint, {
            "id": ctx.new_ids(Touchpoint, rng, total), "account": [f.ids[i] for i in idx.tolist()],
            "kind": [kinds[k] for k in kind.tolist()], "occurred_at": stamps,
            "author": _ids_or_none(_owner_at(ctx, idx, days_ago)), "summary": summaries, "attendees": attendees,
            "created_at": stamps,
        })
        bar.update(hi - lo)
    bar.close()


# --- Tasks -------------------------------------------------------------------------------------------
DONE_PER_YEAR = (6, 2.5, 0.8, 0.15)
ACTIVE_RISK_P = (0.12, 0.09, 0.07, 0.03)


class _TaskRows:
    """Task rows as tuples (in COLUMNS order), written in batches."""

    COLUMNS = ("account", "owner", "title", "type", "reason", "priority", "source", "status", "due_offset",
               "snoozed_offset", "completed_epoch", "completed_by", "created_by", "created_epoch")

    def __init__(self, ctx: DemoContext, rng):
        self.ctx, self.rng = ctx, rng
        self.rows: list[tuple] = []

    def flush(self) -> None:
        if not self.rows:
            return
        ctx, n = self.ctx, len(self.rows)
        c = dict(zip(self.COLUMNS, map(list, zip(*self.rows, strict=True)), strict=True))
        no_date = -100_000
        due = ctx.dates(np.array(c["due_offset"]))
        snoozed = ctx.dates(np.array([no_date if v is None else v for v in c["snoozed_offset"]]), missing=no_date)
        completed = ctx.timestamps(np.array([v or 0 for v in c["completed_epoch"]], dtype=np.int64))
        ctx.writer.insert(Task, {
            "id": ctx.new_ids(Task, self.rng, n), "account": c["account"], "owner": c["owner"], "title": c["title"],
            "type": c["type"], "reason": c["reason"], "priority": c["priority"], "source": c["source"],
            "status": c["status"], "due_on": due, "snoozed_until": snoozed, "completed_at": completed,
            "completed_by": c["completed_by"], "created_by": c["created_by"],
            "created_at": ctx.timestamps(np.array(c["created_epoch"], dtype=np.int64)),
        })
        self.rows.clear()


def seed_tasks(ctx: DemoContext) -> None:
    """Open work (some overdue, some due this week, a few snoozed) raised by rules, playbooks and CSMs,
    plus the work done over the last year. At most one active task per (account, type, reason)."""
    f = ctx.accounts
    rng = ctx.rng("tasks")
    features = ctx.spec.features
    rows = _TaskRows(ctx, rng)
    add, local_epoch = rows.rows.append, ctx.local_epoch
    n_done = rng.poisson(np.array(DONE_PER_YEAR)[f.tier] * f.window_days / 365).tolist()
    risk_p = np.array(ACTIVE_RISK_P)[f.tier].tolist()
    stage, tier, renewal = f.stage.tolist(), f.tier.tolist(), f.renewal_offset.tolist()
    age, last_touch, window = f.created_days_ago.tolist(), f.last_touch_days_ago.tolist(), f.window_days.tolist()
    owner, prior, moved = f.owner.tolist(), f.prior_owner.tolist(), f.reassigned_days_ago.tolist()
    bar = ctx.progress("tasks", f.n)
    for lo, hi in ctx.chunks(f.n, CHUNK_ACCOUNTS):
        draws = rng.random((hi - lo, 8)).tolist()
        picks = rng.integers(0, 1 << 30, size=(hi - lo, 4)).tolist()
        done_days = rng.integers(0, 1 << 30, size=sum(n_done[lo:hi]) + 1).tolist()
        seconds = rng.integers(8 * 3600, 18 * 3600, size=(hi - lo, 8)).tolist()
        done_pos = 0
        for i in range(lo, hi):
            u, pick, secs = draws[i - lo], picks[i - lo], seconds[i - lo]
            feature = features[pick[0] % len(features)]
            fill = {"first": f.primary_first_name[i], "feature": feature, "n": 20 + pick[1] % 70,
                    "feature_slug": feature.removeprefix("the ").replace(" ", "_")}
            account = (stage[i], tier[i], renewal[i], age[i], last_touch[i])
            for position, (type_, reason, title, priority, source, due) in enumerate(
                _active_tasks(ctx, account, u, pick, fill, risk_p[i])
            ):
                snoozed = u[7] < 0.06 and position == 0 and due <= 7
                created_days = max(0, -due) + 2 + pick[3] % 19
                add((f.ids[i], owner[i] or None, title[:200], type_, reason, priority, source,
                     "snoozed" if snoozed else "open", due, (3 + pick[2] % 12) if snoozed else None, None, None,
                     (owner[i] or None) if source == "manual" else None, local_epoch(created_days, secs[position % 8])))
            for k in range(n_done[i]):
                days_ago = 1 + done_days[done_pos] % max(window[i], 1)
                done_pos += 1
                by = (prior[i] if 0 <= moved[i] < days_ago else owner[i]) or None
                type_, title = words.DONE_TASK_TITLES[(pick[k % 4] + k) % len(words.DONE_TASK_TITLES)]
                cancelled = (pick[2] + k) % 14 == 0
                finished = local_epoch(days_ago, secs[k % 8])
                add((f.ids[i], by, title.format(**fill), type_, "", 1 + (pick[1] + k) % 3,
                     ("manual", "rule", "playbook")[k % 3], "cancelled" if cancelled else "done", -days_ago, None,
                     None if cancelled else finished, None if cancelled else by, by if k % 3 == 0 else None,
                     finished - 9 * DAY))
            if len(rows.rows) >= 5000:
                rows.flush()
        bar.update(hi - lo)
    rows.flush()
    bar.close()


def _active_tasks(ctx: DemoContext, account: tuple, u: list, pick: list, fill: dict, risk_p: float) -> list:
    """(type, reason, title, priority, source, due offset) of one account's open tasks."""
    stage, tier, renewal_in, age, last = account
    if stage == CHURNED:
        return []
    out = []
    if stage == AT_RENEWAL and not (renewal_in < 60 and u[0] < 0.6):  # many close-in ones are done already
        priority = 4 if renewal_in < 30 else 3 if renewal_in < 60 else 2
        renewal_on = (ctx.today + dt.timedelta(days=renewal_in)).isoformat()
        out.append(("renewal", f"renewal:T-90:{renewal_on}",
                    f"Renewal on {renewal_on} — confirm the plan with {fill['first']}", priority, "rule",
                    renewal_in - 90 + 14))
    if stage == ONBOARDING:
        reason, title = (("onboarding:kickoff", "Run onboarding kickoff with {first}") if age < 30 else
                         ("onboarding:first_value", "Reach first value: {feature} live"))
        out.append(("onboarding", reason, title.format(**fill), 3, "playbook", 30 - age % 30))
    if tier != TT and (last < 0 or last > 45):
        quiet = "No touch yet" if last < 0 else f"No touch in {last} days"
        out.append(("activity", "activity:no_touch_45d", f"{quiet} — check in with {fill['first']}", 2, "rule",
                    7 - pick[2] % 10))
    if u[2] < risk_p:
        type_, reason, title, priority = words.RISK_TASKS[pick[0] % len(words.RISK_TASKS)]
        out.append((type_, reason, title.format(**fill), priority, "rule", _spread_due(u[1])))
    if u[3] < 0.07 and stage in (ADOPTING, ONBOARDING, MATURE):
        type_, reason, title, priority = words.ADOPTION_TASKS[pick[1] % len(words.ADOPTION_TASKS)]
        out.append((type_, reason.format(**fill), title.format(**fill), priority, "playbook", _spread_due(u[4])))
    if u[5] < 0.05 and tier != TT and stage == MATURE:
        type_, reason, title, priority = words.EXPANSION_TASKS[pick[2] % len(words.EXPANSION_TASKS)]
        out.append((type_, reason, title.format(**fill), priority, "manual", _spread_due(u[6])))
    if u[6] < 0.12:
        type_, reason, title, priority = words.MANUAL_TASKS[pick[3] % len(words.MANUAL_TASKS)]
        out.append((type_, reason, title.format(**fill), priority, "manual", _spread_due(u[7])))
    return out


def _spread_due(u: float) -> int:
    """Due-date offset: a quarter overdue, a quarter due this week, the rest in the next six weeks."""
    if u < 0.25:
        return -1 - int(u * 4 * 21)
    if u < 0.5:
        return int((u - 0.25) * 4 * 7)
    return 7 + int((u - 0.5) * 2 * 38)


# --- Owner history -----------------------------------------------------------------------------------
def seed_owner_history(ctx: DemoContext) -> None:
    """The first assignment of every owned account, and the reassignments of the last year."""
    f = ctx.accounts
    rng = ctx.rng("owner_history")
    reassigned = f.reassigned_days_ago >= 0
    first_owner = np.where(reassigned, f.prior_owner, f.owner)
    bar = ctx.progress("owner history", f.n)
    for lo, hi in ctx.chunks(f.n, 5000):
        span = np.arange(lo, hi)
        initial = span[first_owner[lo:hi] != 0]
        moved = span[reassigned[lo:hi]]
        idx = np.concatenate([initial, moved])
        if idx.size == 0:
            bar.update(hi - lo)
            continue
        is_move = np.arange(idx.size) >= initial.size
        move_epoch = ctx.business_epoch(np.maximum(f.reassigned_days_ago[idx], 1), rng)
        epoch = np.where(is_move, move_epoch, f.created_epoch[idx])
        reason_pick = rng.integers(len(words.REASSIGNMENT_REASONS), size=idx.size).tolist()
        reasons = []
        for move, owner, r in zip(is_move.tolist(), f.owner[idx].tolist(), reason_pick, strict=True):
            if not move:
                reasons.append("Initial assignment")
            elif owner == 0:
                reasons.append("CSM moved to another segment — pending reassignment")
            else:
                reasons.append(words.REASSIGNMENT_REASONS[r])
        ctx.writer.insert(OwnerAssignment, {
            "id": ctx.new_ids(OwnerAssignment, rng, idx.size), "account": [f.ids[i] for i in idx.tolist()],
            "previous_owner": _ids_or_none(np.where(is_move, f.prior_owner[idx], 0)),
            "new_owner": _ids_or_none(np.where(is_move, f.owner[idx], first_owner[idx])),
            "changed_by": [ctx.admin_id] * idx.size, "reason": reasons, "created_at": ctx.timestamps(epoch),
        })
        bar.update(hi - lo)
    bar.close()
