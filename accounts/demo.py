"""Demo tenants for `manage.py seed_demo`: a realistic B2B SaaS customer base, deterministic per seed.

Two organizations make tenancy visible: Northwind Analytics (the big one, `--accounts N`) and Globex
Cloud (~80 accounts). Northwind's leader is a viewer in Globex, so the org switcher shows.

Generation runs as a list of *phases* over one `DemoContext` per organization: people, accounts,
then the account's children (contacts, touchpoints, tasks, owner history — `accounts/demo_activity.py`).
Later features extend the demo by appending a phase with `register_phase` (e.g. health signals,
contracts); a phase reads `ctx.accounts` (per-account numpy arrays) and writes through `ctx.writer`.
Every phase draws from its own random stream (`ctx.rng("name")`), so adding one changes nothing else.
"""
from __future__ import annotations

import datetime as dt
import gc
import re
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from django.apps import apps
from django.contrib.auth.hashers import get_hasher, make_password
from django.db import connection, models, transaction
from django.utils import timezone
from tqdm import tqdm

from csops.tenancy.context import dangerously_all_tenants, tenant_context
from csops.tenancy.models import Membership, Organization, Role, Team, User
from csops.tenancy.services import organization_create

from . import demo_words as words
from .demo_bulk import TenantBulkWriter, days_to_datetime64, epoch_to_datetime64, id_prefix, ordered_uuid_hex
from .demo_specs import (  # noqa: F401 -- DEMO_PASSWORD, demo_logins and logins_box are this module's API too
    DEMO_PASSWORD,
    DEMO_SLUGS,
    HIGH_TOUCH,
    SCALE,
    OrgSpec,
    Person,
    demo_logins,
    demo_specs,
    logins_box,
)
from .models import Account, LifecycleStage, Tier

DEFAULT_ACCOUNTS = 600
DEFAULT_SEED = 42
TIERS = (Tier.ENTERPRISE, Tier.MID_MARKET, Tier.SMB, Tier.TECH_TOUCH)
ENT, MM, SMB, TT = range(4)
TIER_MIX = (0.05, 0.20, 0.45, 0.30)
# ARR per tier: log-normal around a median, redrawn into the tier's band, rounded down to a price step
ARR_MEDIAN = (320_000, 62_000, 12_000, 1_800)
ARR_SIGMA = (0.6, 0.45, 0.5, 0.55)
ARR_BAND = ((150_000, 1_200_000), (30_000, 150_000), (5_000, 30_000), (500, 5_000))
ARR_STEP = (100, 100, 10, 12)
STAGES = (LifecycleStage.ONBOARDING, LifecycleStage.ADOPTING, LifecycleStage.MATURE, LifecycleStage.AT_RENEWAL,
          LifecycleStage.CHURNED)
ONBOARDING, ADOPTING, MATURE, AT_RENEWAL, CHURNED = range(5)
CHURN_RATE = (0.02, 0.06, 0.12, 0.12)  # of accounts whose contract came up in the last 180 days
TOUCHES_PER_YEAR = (24, 9, 3.5, 0.8)
LAST_TOUCH_SCALE_DAYS = (7, 14, 30, 60)
UNASSIGNED_SHARE = 0.015
REASSIGNED_SHARE = 0.12


# --- The per-organization context the phases share ---------------------------------------------------
@dataclass
class AccountFrame:
    """The generated accounts as arrays, index-aligned; phases read them to generate children."""

    ids: list[str]
    names: list[str]
    domains: list[str]
    industries: list[str]
    external_ids: list[str]
    tier: np.ndarray  # ENT/MM/SMB/TT
    stage: np.ndarray  # ONBOARDING…CHURNED
    region: np.ndarray
    owner: np.ndarray  # user id, 0 = unassigned
    prior_owner: np.ndarray  # owner before the last reassignment, 0 = none
    reassigned_days_ago: np.ndarray  # -1 = never reassigned
    arr_cents: np.ndarray
    created_days_ago: np.ndarray
    created_epoch: np.ndarray
    renewal_offset: np.ndarray  # days from today; negative = the contract ended (churned)
    window_days: np.ndarray  # how far back this account's activity goes (≤ 365)
    n_touch: np.ndarray
    last_touch_days_ago: np.ndarray  # -1 = never touched
    last_touch_epoch: np.ndarray  # 0 = never touched
    # filled by the contacts phase, for touchpoint attendees and task titles
    primary_first_name: list[str] = field(default_factory=list)
    attendees_json: list[tuple[str, str]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.ids)


@dataclass
class DemoContext:
    org: Organization
    spec: OrgSpec
    seed: int
    today: dt.date
    now: dt.datetime
    writer: TenantBulkWriter
    password_hash: str
    show_progress: bool = True
    users: dict[str, int] = field(default_factory=dict)  # email → user id
    owners_by_segment: dict[str, list[int]] = field(default_factory=dict)
    admin_id: int | None = None
    accounts: AccountFrame | None = None
    counts: dict[str, int] = field(default_factory=dict)
    _midnights: np.ndarray | None = None
    _midnight_list: list[int] | None = None
    _latest_epoch: int = 0
    _id_seq: dict[str, int] = field(default_factory=dict)

    MIDNIGHT_PAST, MIDNIGHT_FUTURE = 2200, 800

    def rng(self, stream: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.spec.code, zlib.crc32(stream.encode())])

    def new_ids(self, model: type[models.Model], rng: np.random.Generator, count: int) -> list[str]:
        label = model._meta.label
        start = self._id_seq.get(label, 0)
        self._id_seq[label] = start + count
        return ordered_uuid_hex(rng, prefix=id_prefix(self.spec.code, label), start=start, count=count)

    def progress(self, desc: str, total: int, unit: str = "acct") -> tqdm:
        return tqdm(total=total, desc=f"{self.spec.slug}: {desc}", unit=unit, unit_scale=True, leave=True,
                    disable=not self.show_progress, dynamic_ncols=True, mininterval=0.5)

    def chunks(self, total: int, size: int) -> Iterator[tuple[int, int]]:
        for lo in range(0, total, size):
            yield lo, min(total, lo + size)

    def business_epoch(self, days_ago: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """UTC epoch seconds of a working-hours moment (08:00–18:00 local, Mon–Fri) `days_ago` days
        before today (weekends move back to Friday); never later than now."""
        days_ago = days_ago.astype(np.int64)
        weekday = (self.today.weekday() - days_ago) % 7
        days_ago = days_ago + np.where(weekday == 5, 1, 0) + np.where(weekday == 6, 2, 0)
        seconds = 8 * 3600 + rng.integers(0, 120, size=days_ago.size) * 300
        epoch = self._midnight_table()[self.MIDNIGHT_PAST - np.clip(days_ago, -self.MIDNIGHT_FUTURE + 1,
                                                                    self.MIDNIGHT_PAST)] + seconds
        return np.minimum(epoch, int(self.now.timestamp()) - 60)

    def local_epoch(self, days_ago: int, seconds: int) -> int:
        """UTC epoch of local time `seconds` after midnight, `days_ago` days before today (≤ now)."""
        if self._midnight_list is None:
            self._midnight_list = self._midnight_table().tolist()
            self._latest_epoch = int(self.now.timestamp()) - 60
        day = self.MIDNIGHT_PAST - min(max(days_ago, 1 - self.MIDNIGHT_FUTURE), self.MIDNIGHT_PAST)
        return min(self._midnight_list[day] + seconds, self._latest_epoch)

    def _midnight_table(self) -> np.ndarray:
        """UTC epoch of local midnight for each day around today (DST-correct), indexed by offset."""
        if self._midnights is None:
            tz = self.org.tzinfo
            days = range(-self.MIDNIGHT_PAST, self.MIDNIGHT_FUTURE)
            self._midnights = np.array([
                int(dt.datetime.combine(self.today + dt.timedelta(days=d), dt.time(), tzinfo=tz).timestamp())
                for d in days
            ], dtype=np.int64)
        return self._midnights

    def dates(self, offsets: np.ndarray, *, missing: int | None = None) -> np.ndarray:
        return days_to_datetime64(self.today, offsets, missing=missing)

    def timestamps(self, epochs: np.ndarray) -> np.ndarray:
        return epoch_to_datetime64(epochs)


Phase = Callable[[DemoContext], None]
PHASES: list[Phase] = []


def register_phase(phase: Phase, *, after: Phase | None = None) -> Phase:
    """Add a generation phase (at the end, or right after `after`). Usable as a decorator."""
    if phase not in PHASES:
        PHASES.insert(PHASES.index(after) + 1 if after else len(PHASES), phase)
    return phase


# --- Phase: people -----------------------------------------------------------------------------------
def seed_people(ctx: DemoContext) -> None:
    """Users (shared across organizations by email), teams with their managers, memberships."""
    spec = ctx.spec
    ctx.users = ensure_users(spec.people, password_hash=ctx.password_hash)
    teams = Team.objects.bulk_create([
        Team(organization=ctx.org, name=t.name,
             manager_id=ctx.users[t.manager_email] if t.manager_email else None)
        for t in spec.teams
    ])
    team_by_name = {t.name: t for t in teams}
    segment_of_team = {t.name: t.segment for t in spec.teams}
    Membership.objects.bulk_create([
        Membership(organization=ctx.org, user_id=ctx.users[p.email], role=p.role,
                   team=team_by_name.get(p.team) if p.team else None)
        for p in spec.people
    ])
    owners: dict[str, list[int]] = {HIGH_TOUCH: [], SCALE: []}
    for p in spec.people:
        if p.role == Role.CSM and p.team:
            owners[segment_of_team[p.team]].append(ctx.users[p.email])
    # an organization with one segment (Globex) has its CSMs own every tier
    owners[HIGH_TOUCH] = owners[HIGH_TOUCH] or owners[SCALE]
    owners[SCALE] = owners[SCALE] or owners[HIGH_TOUCH]
    ctx.owners_by_segment = owners
    ctx.admin_id = next((ctx.users[p.email] for p in spec.people if p.role == Role.OPS_ADMIN), None)
    ctx.counts.update(users=len(spec.people), teams=len(teams))


def ensure_users(people: tuple[Person, ...], *, password_hash: str) -> dict[str, int]:
    """Email → user id, creating the missing users with the shared (pre-hashed) demo password."""
    wanted = {p.email: p for p in people}
    existing = dict(User.objects.filter(email__in=list(wanted)).values_list("email", "id"))
    missing = [User(email=e, full_name=p.full_name, password=password_hash) for e, p in wanted.items()
               if e not in existing]
    User.objects.bulk_create(missing, batch_size=1000)
    existing.update(User.objects.filter(email__in=[u.email for u in missing]).values_list("email", "id"))
    return existing


# --- Phase: accounts ---------------------------------------------------------------------------------
def seed_accounts(ctx: DemoContext) -> None:
    frame = build_account_frame(ctx)
    ctx.accounts = frame
    tiers = np.array([t.value for t in TIERS])
    stages = np.array([s.value for s in STAGES])
    regions = np.array(words.REGIONS)
    renewal = ctx.dates(frame.renewal_offset)
    last_touch = ctx.timestamps(frame.last_touch_epoch)
    created = ctx.timestamps(frame.created_epoch)
    bar = ctx.progress("accounts", frame.n)
    for lo, hi in ctx.chunks(frame.n, 5000):
        cents = frame.arr_cents[lo:hi].tolist()
        ctx.writer.insert(Account, {
            "id": frame.ids[lo:hi], "name": frame.names[lo:hi], "external_id": frame.external_ids[lo:hi],
            "domain": frame.domains[lo:hi], "industry": frame.industries[lo:hi],
            "tier": tiers[frame.tier[lo:hi]].tolist(), "lifecycle_stage": stages[frame.stage[lo:hi]].tolist(),
            "region": regions[frame.region[lo:hi]].tolist(),
            "owner": [o or None for o in frame.owner[lo:hi].tolist()],
            "arr": [f"{c // 100}.{c % 100:02d}" for c in cents],
            "renewal_date": renewal[lo:hi], "last_touchpoint_at": last_touch[lo:hi], "created_at": created[lo:hi],
        })
        bar.update(hi - lo)
    bar.close()


def build_account_frame(ctx: DemoContext) -> AccountFrame:
    """Every per-account number, vectorised: tier mix, ARR, dates, lifecycle, ownership, activity level."""
    spec, n = ctx.spec, ctx.spec.n_accounts
    rng = ctx.rng("accounts")
    tier = rng.choice(4, size=n, p=TIER_MIX).astype(np.int8)
    region = rng.choice(4, size=n, p=spec.region_weights).astype(np.int8)
    names, domains, industries = _company_names(rng, n, spec.suffixes, region)
    external_ids = [f"{spec.external_id_prefix}{v:06d}"
                    for v in (rng.choice(900_000, size=n, replace=False) + 100_000).tolist()]

    # customer since: a growing company, so more recent customers; contracts renew on the anniversary
    created_days_ago = np.clip(rng.exponential(700, size=n), 3, 1825).astype(np.int64)
    enterprise = tier == ENT  # big logos tend to be older customers
    created_days_ago[enterprise] = np.maximum(created_days_ago[enterprise], rng.integers(200, 1800, size=n)[enterprise])
    renewal_offset = 365 - created_days_ago % 365
    since_anniversary = created_days_ago % 365
    churn_p = np.array(CHURN_RATE)[tier]
    churned = (created_days_ago >= 365) & (since_anniversary <= 180) & (rng.random(n) < churn_p)
    renewal_offset[churned] = -since_anniversary[churned]

    stage = np.full(n, MATURE, dtype=np.int8)
    stage[created_days_ago < 365] = ADOPTING
    stage[renewal_offset <= 90] = AT_RENEWAL
    stage[created_days_ago < 90] = ONBOARDING
    stage[churned] = CHURNED

    arr_cents = _arr_cents(rng, tier)
    arr_cents[churned] = 0

    owner, prior_owner, reassigned_days_ago = _assign_owners(ctx, rng, tier, created_days_ago)

    # activity: touches per year by tier over the months this account has been a customer
    window = np.minimum(created_days_ago, 365)
    end_days_ago = np.where(churned, since_anniversary, 0)
    active_days = np.maximum(window - end_days_ago, 1)
    n_touch = rng.poisson(np.array(TOUCHES_PER_YEAR)[tier] * active_days / 365).astype(np.int64)
    n_touch[(n_touch == 0) & (tier != TT) & ~churned] = 1
    last = 1 + rng.exponential(np.array(LAST_TOUCH_SCALE_DAYS)[tier]).astype(np.int64)
    gone_quiet = (tier != TT) & (rng.random(n) < 0.08)  # the accounts a CSM should worry about
    last[gone_quiet] += rng.integers(45, 120, size=n)[gone_quiet]
    last = np.minimum(last + end_days_ago, np.maximum(window - 1, 1))
    last[n_touch == 0] = -1
    n_touch = np.minimum(n_touch, np.maximum(window - last, 1))  # earlier touches need earlier days
    last_epoch = np.where(last >= 0, ctx.business_epoch(np.maximum(last, 1), rng), 0)

    return AccountFrame(
        ids=ctx.new_ids(Account, rng, n), names=names, domains=domains, industries=industries,
        external_ids=external_ids, tier=tier, stage=stage, region=region,
        owner=owner, prior_owner=prior_owner, reassigned_days_ago=reassigned_days_ago, arr_cents=arr_cents,
        created_days_ago=created_days_ago, created_epoch=ctx.business_epoch(created_days_ago, rng),
        renewal_offset=renewal_offset, window_days=window, n_touch=n_touch, last_touch_days_ago=last,
        last_touch_epoch=last_epoch,
    )


def _arr_cents(rng, tier: np.ndarray) -> np.ndarray:
    """ARR per account: log-normal within the tier's band (out-of-band draws are redrawn, so the band
    edges get no pile-up), rounded down to the tier's price step."""
    log_median, sigma = np.log(np.array(ARR_MEDIAN, dtype=float))[tier], np.array(ARR_SIGMA)[tier]
    band = np.array(ARR_BAND, dtype=float)[tier]
    arr = np.exp(log_median + sigma * rng.standard_normal(tier.size))
    for _ in range(50):
        outside = (arr < band[:, 0]) | (arr > band[:, 1])
        if not outside.any():
            break
        arr[outside] = np.exp(log_median[outside] + sigma[outside] * rng.standard_normal(int(outside.sum())))
    arr = np.clip(arr, band[:, 0], band[:, 1])
    step = np.array(ARR_STEP)[tier]
    return (np.maximum(np.floor(arr / step) * step, band[:, 0]) * 100).astype(np.int64)


def _company_names(rng, n: int, suffixes, region) -> tuple[list[str], list[str], list[str]]:
    """n unique company names (root + sector noun + weighted suffix), their domains and industries."""
    n_roots, n_nouns, n_suffixes = len(words.ROOTS), len(words.SECTOR_NOUNS), len(suffixes)
    if n > n_roots * n_nouns * n_suffixes * 0.9:
        raise ValueError(f"the name lists make at most ~{int(n_roots * n_nouns * n_suffixes * 0.9)} unique names")
    weights = np.array([w for _, w in suffixes], dtype=float)
    weights /= weights.sum()
    chosen: list[int] = []
    seen: set[int] = set()
    while len(chosen) < n:
        batch = 2 * (n - len(chosen)) + 16
        codes = (rng.integers(n_roots, size=batch) * n_nouns + rng.integers(n_nouns, size=batch)) * n_suffixes
        codes += rng.choice(n_suffixes, size=batch, p=weights)
        for code in codes.tolist():
            if code not in seen:
                # when root+noun is taken with this suffix, try the same root+noun with the other suffixes
                seen.add(code)
                chosen.append(code)
                if len(chosen) == n:
                    break
    names, domains, industries = [], [], []
    domains_taken: set[str] = set()
    tld_choice = rng.integers(0, 1 << 30, size=n).tolist()
    regions = region.tolist()
    for code, tld_pick, reg in zip(chosen, tld_choice, regions, strict=True):
        rest, s = divmod(code, n_suffixes)
        r, noun_idx = divmod(rest, n_nouns)
        root, noun, suffix = words.ROOTS[r], words.SECTOR_NOUNS[noun_idx], suffixes[s][0]
        names.append(f"{root} {noun} {suffix}" if suffix else f"{root} {noun}")
        tlds = words.REGION_TLDS[words.REGIONS[reg]]
        tld = tlds[tld_pick % len(tlds)]
        domain = _domain(f"{root}{noun}", tld)
        if domain in domains_taken:  # the plain name's domain is taken: use the one with the suffix
            domain = _domain(f"{root}{noun}{suffix}", tld)
        number = 2
        while domain in domains_taken:
            domain, number = _domain(f"{root}{noun}{number}", tld), number + 1
        domains_taken.add(domain)
        domains.append(domain)
        industries.append(words.SECTOR_INDUSTRY[noun_idx])
    return names, domains, industries


def _domain(name: str, tld: str) -> str:
    return _NOT_ALNUM.sub("", name.lower()) + "." + tld


_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def _assign_owners(ctx: DemoContext, rng, tier, created_days_ago):
    """High-touch CSMs own enterprise and mid-market, scale CSMs SMB and tech-touch; books vary in size.
    A few accounts were reassigned in the last year, a handful lost their CSM and wait for a new one."""
    n = tier.size
    owner = np.zeros(n, dtype=np.int64)
    prior = np.zeros(n, dtype=np.int64)
    for segment, mask in ((HIGH_TOUCH, tier <= MM), (SCALE, tier >= SMB)):
        csms = np.array(ctx.owners_by_segment[segment], dtype=np.int64)
        book_weight = rng.gamma(16.0, size=csms.size)  # books differ by ±25%
        picks = rng.choice(csms.size, size=int(mask.sum()), p=book_weight / book_weight.sum())
        owner[mask] = csms[picks]
        # the previous owner of a reassigned account: a colleague of the same segment
        prior[mask] = csms[(picks + rng.integers(1, max(csms.size, 2), size=picks.size)) % csms.size]
    reassigned = (rng.random(n) < REASSIGNED_SHARE) & (created_days_ago > 60)
    unassigned = rng.random(n) < UNASSIGNED_SHARE
    reassigned |= unassigned
    reassigned &= prior != owner
    prior[~reassigned] = 0
    owner[unassigned] = 0
    latest = np.minimum(created_days_ago - 30, 365)
    days_ago = rng.integers(2, np.maximum(latest, 3))
    days_ago[unassigned] = rng.integers(2, 30, size=n)[unassigned]
    days_ago = np.minimum(days_ago, created_days_ago - 1)
    days_ago[~reassigned] = -1
    return owner, prior, days_ago


# --- Orchestration -----------------------------------------------------------------------------------
def _default_phases() -> None:
    from .demo_activity import seed_contacts, seed_owner_history, seed_tasks, seed_touchpoints
    from .demo_contracts import seed_contracts
    from .demo_health_history import seed_health_history
    from .demo_signals import seed_health_signals

    for phase in (seed_people, seed_accounts, seed_contacts, seed_touchpoints, seed_tasks, seed_owner_history,
                  seed_contracts, seed_health_signals, seed_health_history):
        register_phase(phase)


_default_phases()


@dataclass
class SeedResult:
    slug: str
    counts: dict[str, int]
    seconds: float
    db_seconds: float
    phase_seconds: dict[str, float]


def demo_password_hash(*, fast: bool = False) -> str:
    """Hash the shared demo password once for every demo user. `fast` lowers the PBKDF2 work factor
    (benchmarks, CI); Django upgrades such a hash to the full work factor at the first login."""
    hasher = get_hasher("default")
    if fast and hasattr(hasher, "iterations"):
        return hasher.encode(DEMO_PASSWORD, hasher.salt(), iterations=1000)
    return make_password(DEMO_PASSWORD)


def phase_name(phase: Phase) -> str:
    return phase.__name__.removeprefix("seed_")


REQUIRED_PHASES = ("people", "accounts", "contacts")  # the others read what these make


def check_skippable(skip) -> None:
    allowed = [phase_name(p) for p in PHASES if phase_name(p) not in REQUIRED_PHASES]
    if set(skip) - set(allowed):
        raise ValueError(f"phases that can be skipped: {', '.join(allowed)}")


def demo_seed(*, n_accounts: int = DEFAULT_ACCOUNTS, seed: int = DEFAULT_SEED, fast_passwords: bool = False,
              show_progress: bool = True, today: dt.date | None = None, skip: tuple[str, ...] = ()) -> list[SeedResult]:
    """Create both demo organizations. Each one is one transaction inside its tenant context.
    `skip` names phases to leave out (benchmarking one phase against the others)."""
    if n_accounts < 1:
        raise ValueError("n_accounts must be at least 1")
    check_skippable(skip)
    phases = [p for p in PHASES if phase_name(p) not in skip]
    existing = list(Organization.objects.filter(slug__in=DEMO_SLUGS).values_list("slug", flat=True))
    if existing:
        raise ValueError(f"demo organization(s) {', '.join(sorted(existing))} already exist")
    password_hash = demo_password_hash(fast=fast_passwords)
    return [seed_organization(spec, seed=seed, password_hash=password_hash, show_progress=show_progress,
                              today=today, phases=phases)
            for spec in demo_specs(n_accounts, seed=seed)]


def seed_organization(spec: OrgSpec, *, seed: int, password_hash: str, show_progress: bool = True,
                      today: dt.date | None = None, phases: list[Phase] | None = None) -> SeedResult:
    started = time.perf_counter()
    phase_seconds: dict[str, float] = {}
    with transaction.atomic():
        org = organization_create(name=spec.name, slug=spec.slug, timezone_name=spec.timezone,
                                  currency=spec.currency, fiscal_year_start_month=spec.fiscal_year_start_month)
        with tenant_context(org), _sqlite_big_cache(), _gc_paused(), TenantBulkWriter() as writer:
            ctx = DemoContext(org=org, spec=spec, seed=seed, today=today or org.today(), now=timezone.now(),
                              writer=writer, password_hash=password_hash, show_progress=show_progress)
            for phase in PHASES if phases is None else phases:
                phase_started = time.perf_counter()
                phase(ctx)
                writer.wait()  # the next phase may read what this one wrote (written, with fresh statistics)
                phase_seconds[phase_name(phase)] = time.perf_counter() - phase_started
            counts = dict(ctx.counts)
            for label, count in ctx.writer.counts.items():
                counts[apps.get_model(label)._meta.verbose_name_plural] = count
            finish_started = time.perf_counter()
        phase_seconds["checks, analyze, commit"] = time.perf_counter() - finish_started
    return SeedResult(slug=spec.slug, counts=counts, seconds=time.perf_counter() - started,
                      db_seconds=sum(ctx.writer.seconds.values()), phase_seconds=phase_seconds)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The seed allocates millions of short-lived tuples and strings and makes no reference cycles;
    Python's cyclic GC would rescan the growing heap again and again (~30% of the run time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _sqlite_big_cache() -> Iterator[None]:
    """A 128 MiB page cache for the seeding connection on SQLite (the default 2 MiB thrashes on the
    index inserts of a 100k-account tenant); restored afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA cache_size = -131072")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous}")


# --- Reset -------------------------------------------------------------------------------------------
def demo_reset(*, slugs: tuple[str, ...] = DEMO_SLUGS) -> list[str]:
    """Delete the demo organizations with all their rows, and their users that belong to no other
    organization. Returns the slugs deleted. Set-based: a constant number of statements per table."""
    deleted = []
    for org in Organization.objects.filter(slug__in=slugs):
        with transaction.atomic():
            member_ids = list(Membership.objects.filter(organization=org).values_list("user_id", flat=True))
            organization_purge(org)
            # the users' rows in other organizations keep existing with the user set to NULL
            with dangerously_all_tenants():
                User.objects.filter(pk__in=member_ids, memberships__isnull=True).delete()
        deleted.append(org.slug)
    return deleted


def _organization_fk(model) -> models.ForeignKey | None:
    for f in model._meta.concrete_fields:
        if f.many_to_one and f.related_model is Organization:
            return f
    return None


def organization_purge(org: Organization) -> None:
    """Delete every row of `org` in every table, then the organization: rows of tables with an
    organization column by that column; rows of tables without one (e.g. many-to-many links) that point
    at the organization's rows are deleted, or set to NULL where their foreign key says SET_NULL.
    Foreign keys are checked at commit, so the order of the statements does not matter. Runs in the
    tenant context, so PostgreSQL's row-level security lets the statements see the rows."""
    quote = connection.ops.quote_name
    all_models = apps.get_models(include_auto_created=True)
    scoped = {m: fk for m in all_models if (fk := _organization_fk(m)) is not None}
    # S608: every identifier below comes from model metadata and is quoted; the only value is a parameter
    statements = []
    for model in all_models:
        if model in scoped or model is Organization:
            continue
        for f in model._meta.concrete_fields:
            parent = f.related_model if f.many_to_one or f.one_to_one else None
            if parent not in scoped:
                continue
            table, column = quote(model._meta.db_table), quote(f.column)
            target, parent_table = quote(f.target_field.column), quote(parent._meta.db_table)
            rows = f"SELECT {target} FROM {parent_table} WHERE {quote(scoped[parent].column)} = %s"  # noqa: S608
            if f.null and f.remote_field.on_delete is models.SET_NULL:
                statements.append(f"UPDATE {table} SET {column} = NULL WHERE {column} IN ({rows})")  # noqa: S608
            else:
                statements.append(f"DELETE FROM {table} WHERE {column} IN ({rows})")  # noqa: S608
    for model, fk in scoped.items():
        statements.append(f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote(fk.column)} = %s")  # noqa: S608
    statements.append(f"DELETE FROM {quote(Organization._meta.db_table)} WHERE id = %s")  # noqa: S608
    with tenant_context(org), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, [org.pk])
