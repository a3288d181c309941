"""Preview a health model's draft on the organization's real accounts, before publishing it.

The accounts are the ones the model would score once published: those of its segment (a lifecycle stage,
a tier) that no model of higher precedence claims — the lifecycle stage's model, else the tier's, else the
default (``health.selectors.model_versions_for_accounts``). For each (up to ``PREVIEW_SAMPLE`` by default,
or all of them), the page shows the score today with the version that scores it now ("before") against the
score today with the draft ("after"), both computed live on the same inputs: the difference is the model's
change, not a day's new data. Inputs come from the daily job's own loader (``health.selectors.scoring_inputs``)
and scores from the engine (``compute_signals`` + ``score``), so a published draft scores exactly as previewed.
"""
from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db.models import Count, Q

from accounts.models import Account, LifecycleStage

from .models import HealthModel, HealthModelVersion, SegmentField
from .scoring import Band, compute_signals, score
from .selectors import model_versions_for_accounts, scoring_inputs

PREVIEW_SAMPLE = 500  # accounts scored by default: enough to see the shape of a change, fast on any org
PREVIEW_MAX = 10_000  # "all" beyond this is a sample of this size (a synchronous page: ~6 s at 10k, see report)
IN_LIST_MAX = 2_000  # up to this many accounts, their inputs are read by id; beyond, all active accounts are read
BANDS = (Band.HEALTHY.value, Band.STABLE.value, Band.AT_RISK.value, Band.UNKNOWN.value)
BAND_LABELS = {"healthy": "Healthy", "stable": "Stable", "at_risk": "At risk", "unknown": "No score"}
_PRECEDENCE = {SegmentField.DEFAULT: 0, SegmentField.TIER: 1, SegmentField.LIFECYCLE_STAGE: 2}
SORTS = {
    "change": "Biggest change",
    "drop": "Biggest drop",
    "rise": "Biggest rise",
    "name": "Account name",
    "before": "Score now",
    "after": "Draft score",
}


@dataclass(frozen=True)
class PreviewRow:
    account_id: str
    name: str
    before_score: float | None
    before_band: str
    before_version: str  # "v3 of Enterprise", or "" when no model scores the account now
    after_score: float | None
    after_band: str

    @property
    def change(self) -> float | None:
        if self.before_score is None or self.after_score is None:
            return None
        return round(self.after_score - self.before_score, 1)

    @property
    def before_label(self) -> str:
        return BAND_LABELS.get(self.before_band, self.before_band)

    @property
    def after_label(self) -> str:
        return BAND_LABELS.get(self.after_band, self.after_band)

    @property
    def band_changed(self) -> bool:
        return self.before_band != self.after_band


@dataclass
class ModelPreview:
    model: HealthModel
    draft: HealthModelVersion
    as_of: dt.date
    applies_to: int  # accounts the model would score once published
    rows: list[PreviewRow] = field(default_factory=list)  # the scored ones (all, or a sample)

    @property
    def scored(self) -> int:
        return len(self.rows)

    @property
    def is_sample(self) -> bool:
        return self.scored < self.applies_to

    @property
    def band_moves(self) -> list[dict]:
        """Every band change (before, after, their labels, accounts), the largest first."""
        moves = Counter((r.before_band, r.after_band) for r in self.rows if r.band_changed)
        ordered = sorted(moves.items(), key=lambda m: (-m[1], m[0]))
        return [{"before": b, "after": a, "before_label": BAND_LABELS.get(b, b), "after_label": BAND_LABELS.get(a, a),
                 "accounts": n} for (b, a), n in ordered]

    @property
    def mean_before(self) -> float | None:
        return self.mean("before")

    @property
    def mean_after(self) -> float | None:
        return self.mean("after")

    def band_counts(self) -> list[dict]:
        """Per band: accounts now, with the draft, and the difference."""
        before = Counter(r.before_band for r in self.rows)
        after = Counter(r.after_band for r in self.rows)
        return [{"band": b, "label": BAND_LABELS[b], "before": before[b], "after": after[b],
                 "delta": after[b] - before[b]} for b in BANDS]

    @property
    def into_at_risk(self) -> int:
        return sum(1 for r in self.rows if r.after_band == "at_risk" and r.before_band != "at_risk")

    @property
    def out_of_at_risk(self) -> int:
        return sum(1 for r in self.rows if r.before_band == "at_risk" and r.after_band != "at_risk")

    @property
    def changed_band(self) -> int:
        return sum(1 for r in self.rows if r.band_changed)

    def mean(self, which: str) -> float | None:
        values = [getattr(r, f"{which}_score") for r in self.rows if getattr(r, f"{which}_score") is not None]
        return round(sum(values) / len(values), 1) if values else None

    def sorted_rows(self, sort: str) -> list[PreviewRow]:
        rows = list(self.rows)
        none_last = float("inf")
        if sort == "name":
            return sorted(rows, key=lambda r: r.name.lower())
        if sort in ("before", "after"):
            return sorted(rows, key=lambda r: (getattr(r, f"{sort}_score") is None,
                                               -(getattr(r, f"{sort}_score") or 0), r.name.lower()))
        if sort == "drop":
            return sorted(rows, key=lambda r: (r.change if r.change is not None else none_last, r.name.lower()))
        if sort == "rise":
            return sorted(rows, key=lambda r: (-(r.change) if r.change is not None else none_last, r.name.lower()))
        # biggest change either way (a band change with no score on one side counts as large); on a tie, the
        # accounts that change band first
        return sorted(rows, key=lambda r: (
            -(abs(r.change) if r.change is not None else (1000 if r.band_changed else -1)), not r.band_changed,
            r.name.lower()))


def _segment_groups(organization):
    """Active accounts grouped by (tier, lifecycle stage) — which model scores an account depends on nothing
    else — with the published version scoring each group now: (groups frame with ``n``, VersionAssignment)."""
    groups = pd.DataFrame.from_records(
        list(Account.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED).values("tier", "lifecycle_stage")
             .annotate(n=Count("id")).order_by().values_list("tier", "lifecycle_stage", "n")),
        columns=["tier", "lifecycle_stage", "n"],
    )
    groups.insert(0, "account_id", [f"group-{i}" for i in range(len(groups))])
    assignment = model_versions_for_accounts(organization=organization, accounts=groups)
    groups["version"] = [None if pd.isna(v) else v for v in assignment.account_version.to_numpy(dtype=object)]
    return groups, assignment


def model_account_counts(*, organization) -> dict:
    """Active accounts each model scores now (model id → count; models with no published version score
    none). One grouped query over (tier, lifecycle stage), whatever the number of accounts."""
    groups, assignment = _segment_groups(organization)
    counts: Counter = Counter()
    for version_id, n in zip(groups["version"], groups["n"], strict=True):
        if version_id is not None:
            counts[assignment.versions[version_id].model_id] += int(n)
    return dict(counts)


def model_target_accounts(*, organization, model: HealthModel):
    """The active accounts ``model`` scores (or would score, once its draft is published): those of its segment
    that no model of higher precedence claims. Returns (frame account_id, name, version — the published
    version scoring the account now, or None —, VersionAssignment). Reads only the target accounts' rows."""
    groups, assignment = _segment_groups(organization)
    mine = _PRECEDENCE[model.segment_field]
    matches = np.ones(len(groups), dtype=bool) if model.segment_field == SegmentField.DEFAULT else \
        (groups[model.segment_field] == model.segment_value).to_numpy(dtype=bool)
    owners = [assignment.versions[v].model if v is not None else None for v in groups["version"]]
    free = np.array([m is None or m.pk == model.pk or _PRECEDENCE[m.segment_field] < mine for m in owners],
                    dtype=bool)
    targets = groups[matches & free]
    columns = ["account_id", "name", "version"]
    if targets.empty:
        return pd.DataFrame(columns=columns), assignment
    wanted = Q()
    for tier, stage in zip(targets["tier"], targets["lifecycle_stage"], strict=True):
        wanted |= Q(tier=tier, lifecycle_stage=stage)
    rows = list(Account.objects.filter(wanted).order_by("id").values_list("id", "name", "tier", "lifecycle_stage"))
    version_of = {(t, s): v for t, s, v in zip(targets["tier"], targets["lifecycle_stage"], targets["version"],
                                               strict=True)}
    frame = pd.DataFrame.from_records([(str(pk), name, version_of[(tier, stage)]) for pk, name, tier, stage in rows],
                                      columns=columns)
    return frame, assignment


def model_preview(
    *, organization, model: HealthModel, draft: HealthModelVersion, sample: int | None = PREVIEW_SAMPLE,
    as_of: dt.date | None = None,
) -> ModelPreview:
    """Score ``draft`` and the versions in use today on the model's accounts (``sample`` of them, chosen at
    random but the same on every reload; None = all, up to ``PREVIEW_MAX``)."""
    as_of = as_of or organization.today()
    targets, assignment = model_target_accounts(organization=organization, model=model)
    preview = ModelPreview(model=model, draft=draft, as_of=as_of, applies_to=len(targets))
    if targets.empty:
        return preview
    limit = min(sample or PREVIEW_MAX, PREVIEW_MAX)
    ids = list(targets["account_id"])
    if len(ids) > limit:
        ids = sorted(random.Random(str(model.pk)).sample(ids, limit))  # noqa: S311 -- a display sample, not security
    draft_config = draft.engine_config()
    index = pd.Index(ids)
    by_id = targets.set_index("account_id")
    version_of = by_id["version"].reindex(index).to_numpy(dtype=object)
    before_configs = {pk: assignment.versions[pk].engine_config()
                      for pk in sorted({v for v in version_of if v is not None}, key=str)}
    # A few thousand ids are cheaper as an IN list; beyond that, reading every active account (as the daily job
    # does) and keeping ours is faster than sending the list six times.
    scoped = ids if len(ids) <= IN_LIST_MAX else None
    inputs = scoring_inputs(organization=organization, as_of=as_of, account_ids=scoped,
                            configs=[draft_config, *before_configs.values()])
    after = score(compute_signals(inputs, draft_config), draft_config).accounts.reindex(index)
    before_score = np.full(len(ids), np.nan)
    before_band = np.full(len(ids), Band.UNKNOWN.value, dtype=object)
    before_label = np.full(len(ids), "", dtype=object)
    for pk, cfg in before_configs.items():
        mine = version_of == pk
        scored = score(compute_signals(inputs, cfg), cfg).accounts.reindex(index[mine])
        before_score[mine] = scored["score"].to_numpy(dtype=np.float64)
        before_band[mine] = scored["band"].to_numpy(dtype=object)
        version = assignment.versions[pk]
        before_label[mine] = f"v{version.number} of {version.model.name}"
    names = by_id["name"].reindex(index).to_numpy(dtype=object)
    after_score = after["score"].to_numpy(dtype=np.float64)
    after_band = after["band"].to_numpy(dtype=object)
    preview.rows = [
        PreviewRow(account_id=account_id, name=names[i], before_score=_number(before_score[i]),
                   before_band=before_band[i], before_version=before_label[i], after_score=_number(after_score[i]),
                   after_band=after_band[i])
        for i, account_id in enumerate(ids)
    ]
    return preview


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
