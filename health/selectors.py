"""Health reads: the scoring inputs of an organization (set-wise, straight into pandas), which model version
scores each account, snapshots, coverage and freshness. Every function runs inside the tenant context.

Loading signals (``scoring_inputs``) costs one query per signal table, whatever the number of accounts:
rows come back as tuples of scalars (``values_list``), never as model instances, and only the rows the
models can look at (their windows, the latest touchpoint/pulse/seat reading) are read.

Usage is **pre-aggregated in SQL** and still gives the engine exactly the answer it would give on the raw
rows. The usage windows of every model in play cut the lookback into segments (e.g. a 30-day trend cuts
(as_of − 60, as_of] at as_of − 30); per account, metric and segment one row carries the segment's sum,
dated on its newest day. Every usage signal is a sum over whole segments, a "latest day" or a "newest day"
(``signals.py``), so none can tell the difference — except seat utilisation, which reads the *value* of the
latest reading: for its metrics the latest reading is kept as its own row and the segment's remainder is
moved to the segment's first day (earlier, so it never wins the "latest" tie). Feature breadth also asks
"any usage row in the window", of any metric: one row per account and segment with the empty metric name
(no model can name it) answers that. ``tests/health/test_snapshots.py`` proves raw and aggregated inputs
score identically. 9 million usage rows become a few hundred thousand before they leave the database.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import (
    LICENSED_SEATS_METRIC,
    Account,
    LifecycleStage,
    SupportTicket,
    SurveyResponse,
    Touchpoint,
    UsageRecord,
)
from csops.tenancy.models import Organization

from .bulk import TUNING, frame_from_queryset, frame_from_sql, is_postgres, on_own_connection
from .components import KEYS_SEPARATOR, STORED_FIELDS, aggregated_frame, components_frame
from .models import HealthModelVersion, HealthSnapshot, Pulse, SegmentField, VersionStatus
from .scoring import ComponentKind, HealthModelConfig, ScoringInputs

SEATS_METRIC = LICENSED_SEATS_METRIC  # the usage metric whose latest reading is an account's licensed seats
ANY_METRIC = ""  # pseudo metric of the "any usage in this segment" rows (model metric names are non-empty)
_SURVEY_KINDS = {ComponentKind.NPS: "nps", ComponentKind.CSAT: "csat"}


# --- which model version scores which account --------------------------------------------------------------


@dataclass(frozen=True)
class VersionAssignment:
    """The published versions in play and, per account (as ``accounts``), the id of the one scoring it
    (``None`` when no model applies: the default model has no published version)."""

    versions: dict  # version id → HealthModelVersion (with .model)
    account_version: pd.Series  # index account id (str), value version id or None

    def configs(self) -> dict:
        return {pk: version.engine_config() for pk, version in self.versions.items()}


def published_versions() -> list[HealthModelVersion]:
    return list(HealthModelVersion.objects.select_related("model").filter(status=VersionStatus.PUBLISHED))


def model_versions_for_accounts(*, organization: Organization, accounts: pd.DataFrame) -> VersionAssignment:
    """Which published version scores each account: the model of its lifecycle stage, else of its tier, else
    the default. ``accounts`` has the columns account_id, tier, lifecycle_stage (as ``scoring_inputs`` gives).
    Ensures the organization's default model exists first."""
    from .services.models import health_model_ensure_default

    health_model_ensure_default(organization=organization)
    versions = published_versions()
    by_segment = {(v.model.segment_field, v.model.segment_value): v.pk for v in versions}
    default = by_segment.get((SegmentField.DEFAULT, ""))
    stage = accounts["lifecycle_stage"].map(
        {value: pk for (field, value), pk in by_segment.items() if field == SegmentField.LIFECYCLE_STAGE}
    )
    tier = accounts["tier"].map({value: pk for (field, value), pk in by_segment.items() if field == SegmentField.TIER})
    chosen = stage.where(stage.notna(), tier).astype(object)
    chosen = chosen.where(chosen.notna(), default)
    chosen = pd.Series(chosen.to_numpy(dtype=object), index=pd.Index(accounts["account_id"], name="account_id"))
    return VersionAssignment(versions={v.pk: v for v in versions}, account_version=chosen)


# --- scoring inputs ----------------------------------------------------------------------------------------


def _usage_plan(configs: Iterable[HealthModelConfig]) -> tuple[list[int], set[str], set[str], list[int]]:
    """From the models' usage components: the window cut points (days back from as_of, ascending, the
    largest is the lookback), the metrics summed, the seat metrics (latest reading) and the windows of feature
    breadth (which asks for "any usage")."""
    cuts, summed, seats, breadth = set(), set(), set(), set()
    for config in configs:
        for c in config.components:
            if c.kind == ComponentKind.USAGE_TREND:
                cuts |= {c.param("window_days"), 2 * c.param("window_days")}
                summed.add(c.param("metric"))
            elif c.kind == ComponentKind.SEAT_UTILISATION:
                cuts.add(c.param("window_days"))
                seats.add(c.param("metric"))
            elif c.kind == ComponentKind.FEATURE_BREADTH:
                cuts.add(c.param("window_days"))
                breadth.add(c.param("window_days"))
                summed |= set(c.param("key_features"))
    return sorted(cuts), summed, seats, sorted(breadth)


def _survey_lookback(configs: Iterable[HealthModelConfig], kinds: Sequence[str]) -> int:
    return max((c.param("window_days") for cfg in configs for c in cfg.components if c.kind in kinds), default=0)


def _local_start(organization: Organization, day: dt.date) -> dt.datetime:
    """The instant the organization's local ``day`` begins (aware)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=organization.tzinfo)


def _fetch(qs, columns: list[str], *, dates: tuple[str, ...] = (), floats: tuple[str, ...] = ()) -> pd.DataFrame:
    """A ``values_list`` queryset as a frame: through COPY on PostgreSQL (``health.bulk``), tuples elsewhere.
    ``account_id`` (and ``contact_id``) come back as text, ``dates`` as datetime64[s], ``floats`` as float64."""
    if is_postgres():
        frame = frame_from_queryset(qs, columns, dates=dates, dtypes=dict.fromkeys(floats, "float64"))
    else:
        rows = list(qs)
        frame = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
        for column in dates:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[s]")
        for column in floats:
            frame[column] = pd.to_numeric(frame[column]).astype(np.float64)
    for column in ("account_id", "contact_id"):
        if column in frame.columns:
            values = frame[column].to_numpy(dtype=object)
            if not is_postgres():  # UUIDs from the driver; COPY gave text already
                values = np.array([None if v is None else str(v) for v in values.tolist()], dtype=object)
            values[pd.isna(values)] = None
            frame[column] = pd.Series(values, index=frame.index, dtype=object)
    return frame


def local_dates(values: Sequence, organization: Organization) -> pd.Series:
    """Aware datetimes → the organization's local calendar dates (datetime64[s], NaT kept)."""
    stamps = pd.to_datetime(pd.Series(list(values), dtype=object), utc=True)
    return stamps.dt.tz_convert(organization.tzinfo).dt.tz_localize(None).dt.normalize().astype("datetime64[s]")


def _local_day(field: str, organization: Organization) -> TruncDate:
    """The organization's local calendar date of a timestamp column, computed by the database."""
    return TruncDate(field, tzinfo=organization.tzinfo)


def _accounts_qs(account_ids):
    qs = Account.objects.all()
    if account_ids is not None:
        return qs.filter(pk__in=list(account_ids))
    return qs.exclude(lifecycle_stage=LifecycleStage.CHURNED)


def _accounts(account_ids) -> pd.DataFrame:
    qs = _accounts_qs(account_ids).order_by("id").values_list("id", "tier", "lifecycle_stage", "renewal_date")
    return _fetch(qs, ["account_id", "tier", "lifecycle_stage", "renewal_date"], dates=("renewal_date",))


def _scoped(qs, account_ids):
    """Restrict a signal query to the given accounts (when a few are recomputed); None = every account."""
    return qs.filter(account_id__in=list(account_ids)) if account_ids is not None else qs


# One probe per account into the partial index of licensed-seats readings (accounts.UsageRecord): the metric is
# bound client-side (a literal by the time PostgreSQL plans), so the planner can prove the index applies.
_LATEST_READING_SQL = """
SELECT a.id, %s, u.date, u.value
FROM ({accounts}) AS a
CROSS JOIN LATERAL (
    SELECT r.date, r.value FROM {usage} r
    WHERE r.organization_id = %s AND r.account_id = a.id AND r.metric = %s AND r.date <= %s
    ORDER BY r.date DESC LIMIT 1
) AS u
"""


def _seat_readings(organization, as_of: dt.date, seat_metrics: set[str], account_ids) -> pd.DataFrame:
    """The latest reading on or before as_of per account of the licensed-seats metric and each seat metric:
    one index probe per account on PostgreSQL (LATERAL … LIMIT 1 on the unique index) for the licensed seats only
    — the seat metrics' latest readings that matter (inside the lookback) come with the usage sums —, a
    correlated subquery for every metric elsewhere."""
    metrics = sorted({SEATS_METRIC, *seat_metrics})
    columns = ["account_id", "metric", "date", "value"]
    if is_postgres():
        accounts_sql, accounts_params = _accounts_qs(account_ids).values("id").query.sql_with_params()
        sql = _LATEST_READING_SQL.format(accounts=accounts_sql, usage=UsageRecord._meta.db_table)
        return frame_from_sql(sql, [SEATS_METRIC, *accounts_params, organization.pk, SEATS_METRIC, as_of], columns,
                              dates=("date",), dtypes={"value": "float64"})
    qs = _scoped(UsageRecord.objects.filter(metric__in=metrics, date__lte=as_of), account_ids)
    newest = qs.filter(account_id=OuterRef("account_id"), metric=OuterRef("metric")).order_by("-date").values("date")
    rows = qs.filter(date=Subquery(newest[:1])).values_list("account_id", "metric", "date", "value")
    return _fetch(rows, columns, dates=("date",), floats=("value",))


_DAY_ZERO = dt.date(2000, 1, 1)
# PostgreSQL: the newest row's [day number, value] in a group (arrays compare element by element, and a metric
# has one row per account and day), for the seat metrics' latest readings inside the lookback — read by the
# same scan as the sums instead of one index probe per account and metric.
_NEWEST_READING = RawSQL(  # noqa: S611 -- a constant expression, no input in it
    f"ARRAY[(date - DATE '{_DAY_ZERO.isoformat()}')::float8, value::float8]", [])


class _Item(Func):
    """One element of an array expression (PostgreSQL arrays count from 1)."""

    template = "(%(expressions)s)[%(index)d]"
    output_field = FloatField()


def _usage_sums(as_of: dt.date, configs: list[HealthModelConfig], account_ids) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Usage pre-aggregated per account, metric and window segment (see the module docstring), with a
    ``segment`` column; seat metrics' latest readings are split out afterwards (``_split_latest``). On
    PostgreSQL also the seat metrics' latest readings inside the lookback (account_id, metric, date, value),
    from the same scan; elsewhere that frame is None (``_seat_readings`` probes them)."""
    cuts, summed, seat_metrics, breadth = _usage_plan(configs)
    columns = ["account_id", "date", "metric", "value"]
    newest = pd.DataFrame(columns=columns) if is_postgres() else None
    if not cuts:
        return pd.DataFrame(columns=[*columns, "segment"]), newest
    lookback = cuts[-1]
    # The segment as one yes/no key per inner cut ("newer than as_of − cut"), not one CASE value: PostgreSQL knows a
    # boolean has two values, so it estimates the groups right and aggregates 9 M rows with parallel workers (a
    # CASE key looked like a million groups to it). The segment is the number of cuts a row is older than.
    flags = {f"newer_{i}": ExpressionWrapper(Q(date__gt=as_of - dt.timedelta(days=c)), output_field=BooleanField())
             for i, c in enumerate(cuts[:-1])}
    base = _scoped(UsageRecord.objects.filter(date__gt=as_of - dt.timedelta(days=lookback), date__lte=as_of),
                   account_ids).annotate(**flags)
    parts = []
    wanted = summed | seat_metrics
    if wanted:
        aggregates = {"last": Max("date"), "total": Sum("value")}
        if newest is not None and seat_metrics:
            aggregates["newest"] = Max(_NEWEST_READING, filter=Q(metric__in=seat_metrics), output_field=TextField())
        sums = base.filter(metric__in=wanted).values("account_id", "metric", *flags).annotate(**aggregates)
        extra = []
        if "newest" in aggregates:  # its two numbers as two columns: the reader parses them, no array text
            sums, extra = sums.annotate(newest_day=_Item(F("newest"), index=1),
                                        newest_value=_Item(F("newest"), index=2)), ["newest_day", "newest_value"]
        sums = sums.order_by().values_list("account_id", "last", "metric", "total", *flags, *extra)
        frame = _with_segment(_fetch(sums, [*columns, *flags, *extra], dates=("date",),
                                     floats=("value", *extra)), list(flags))
        if extra:
            newest = _newest_readings(frame.pop("newest_day"), frame.pop("newest_value"), frame)
        parts.append(frame)
    if breadth:  # "any usage row in the window": one dated row per account and segment, any metric
        widest = max(breadth)
        anyrows = (base.filter(date__gt=as_of - dt.timedelta(days=widest)).values("account_id", *flags)
                   .annotate(last=Max("date")).order_by().values_list("account_id", "last", *flags))
        frame = _with_segment(_fetch(anyrows, ["account_id", "date", *flags], dates=("date",)), list(flags))
        parts.append(frame.assign(metric=ANY_METRIC, value=0.0))
    usage = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*columns, "segment"])
    usage["date"] = pd.to_datetime(usage["date"]).astype("datetime64[s]")
    usage["value"] = usage["value"].astype(np.float64)
    return usage, newest


def _newest_readings(days: pd.Series, values: pd.Series, sums: pd.DataFrame) -> pd.DataFrame:
    """Day number and value of the newest reading per (account, metric, segment) → per account and metric."""
    present = days.notna().to_numpy()
    readings = pd.DataFrame({
        "account_id": sums["account_id"].to_numpy()[present], "metric": sums["metric"].to_numpy()[present],
        "day": days.to_numpy()[present].astype(np.int64), "value": values.to_numpy(dtype=np.float64)[present],
    })
    readings = readings.sort_values("day").drop_duplicates(["account_id", "metric"], keep="last")
    days = readings.pop("day").to_numpy(dtype="timedelta64[D]")
    return readings.assign(date=(np.datetime64(_DAY_ZERO, "D") + days).astype("datetime64[s]"))[
        ["account_id", "metric", "date", "value"]]


def _with_segment(frame: pd.DataFrame, flags: list[str]) -> pd.DataFrame:
    """The yes/no "newer than cut i" columns → ``segment``: 0 for the newest, one more per cut a row is older than."""
    newer = sum((frame[flag].isin([True, 1, "t", "true", "1"]).to_numpy(dtype=np.int64) for flag in flags),
                np.zeros(len(frame), dtype=np.int64))
    return frame.drop(columns=flags).assign(segment=len(flags) - newer)


def _split_latest(usage: pd.DataFrame, latest: pd.DataFrame, as_of: dt.date, cuts: list[int]) -> pd.DataFrame:
    """For seat metrics, the segment holding an account's latest reading becomes two rows: the reading itself
    (its day, its value) and the rest of the segment's sum on the segment's first day."""
    in_lookback = latest[latest["date"] > pd.Timestamp(as_of - dt.timedelta(days=cuts[-1]))]
    key = ["account_id", "metric", "date"]
    merged = usage.merge(in_lookback[key + ["value"]].rename(columns={"value": "latest"}), on=key, how="left")
    has_latest = merged["latest"].notna().to_numpy()
    if not has_latest.any():
        return usage
    first_day = np.array([as_of - dt.timedelta(days=c - 1) for c in cuts], dtype="datetime64[D]")
    split = merged[has_latest]
    rest = split.assign(
        value=split["value"] - split["latest"],
        date=first_day[split["segment"].to_numpy(dtype=np.int64)].astype("datetime64[s]"),
    )
    rest = rest[(rest["value"] > 0) & (rest["date"] < split["date"])]  # nothing else in the segment: no row
    latest_rows = split.assign(value=split["latest"])
    kept = merged[~has_latest]
    return pd.concat([kept, latest_rows, rest], ignore_index=True).drop(columns="latest")


def _typed_usage(usage: pd.DataFrame) -> pd.DataFrame:
    usage = usage.copy()
    usage["date"] = pd.to_datetime(usage["date"]).astype("datetime64[s]")
    usage["value"] = pd.to_numeric(usage["value"]).astype(np.float64)
    usage["metric"] = usage["metric"].fillna("").astype(str).astype("category")
    usage["account_id"] = usage["account_id"].astype(object)
    return usage


def usage_raw(*, as_of: dt.date, lookback_days: int, account_ids=None) -> pd.DataFrame:
    """Every usage row in (as_of − lookback_days, as_of], unaggregated (tests, exports; not the daily job)."""
    qs = _scoped(UsageRecord.objects.filter(date__gt=as_of - dt.timedelta(days=lookback_days), date__lte=as_of),
                 account_ids).values_list("account_id", "date", "metric", "value")
    return _typed_usage(_fetch(qs, ["account_id", "date", "metric", "value"], dates=("date",), floats=("value",)))


def _surveys(organization, as_of, configs, account_ids) -> pd.DataFrame:
    lookback = _survey_lookback(configs, list(_SURVEY_KINDS))
    columns = ["account_id", "contact_id", "responded_on", "kind", "score"]
    if not lookback:
        return pd.DataFrame(columns=columns)
    kinds = sorted({_SURVEY_KINDS[c.kind] for cfg in configs for c in cfg.components if c.kind in _SURVEY_KINDS})
    qs = _scoped(SurveyResponse.objects.filter(
        kind__in=kinds,
        responded_at__gte=_local_start(organization, as_of - dt.timedelta(days=lookback - 1)),
        responded_at__lt=_local_start(organization, as_of + dt.timedelta(days=1)),
    ), account_ids).annotate(day=_local_day("responded_at", organization))
    return _fetch(qs.values_list("account_id", "contact_id", "day", "kind", "score"), columns,
                  dates=("responded_on",), floats=("score",))


def _tickets(organization, as_of, configs, account_ids) -> pd.DataFrame | None:
    """Tickets open at the end of as_of, plus escalated ones opened in the escalation window; None when the
    organization has never received a ticket (no support feed)."""
    if not SupportTicket.objects.exists():
        return None
    end = _local_start(organization, as_of + dt.timedelta(days=1))
    window = _survey_lookback(configs, [ComponentKind.ESCALATIONS]) or 1
    qs = _scoped(SupportTicket.objects.filter(opened_at__lt=end).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=end)
        | Q(escalated=True, opened_at__gte=_local_start(organization, as_of - dt.timedelta(days=window - 1)))
    ), account_ids).annotate(opened=_local_day("opened_at", organization), closed=_local_day("closed_at", organization))
    columns = ["account_id", "opened_on", "closed_on", "priority", "escalated"]
    frame = _fetch(qs.values_list("account_id", "opened", "closed", "priority", "escalated"), columns,
                   dates=("opened_on", "closed_on"))
    frame["escalated"] = frame["escalated"].map(lambda v: v in (True, "t", "true", "True", 1)).astype(bool)
    return frame


def _touchpoints(organization, as_of, account_ids) -> pd.DataFrame:
    """Each account's latest touchpoint on or before as_of (all the recency component reads)."""
    qs = _scoped(Touchpoint.objects.filter(occurred_at__lt=_local_start(organization, as_of + dt.timedelta(days=1))),
                 account_ids)
    rows = (qs.values("account_id").annotate(latest=Max("occurred_at")).order_by()
            .annotate(day=_local_day("latest", organization)).values_list("account_id", "day"))
    return _fetch(rows, ["account_id", "occurred_on"], dates=("occurred_on",))


def _pulses(organization, as_of, account_ids) -> pd.DataFrame:
    """Each account's pulses of its latest local day on or before as_of (the latest pulse counts; two on one
    day: the engine takes the worse): the pulses within 2 days of each account's newest."""
    end = _local_start(organization, as_of + dt.timedelta(days=1))
    qs = _scoped(Pulse.objects.filter(recorded_at__lt=end), account_ids)
    newest = Pulse.objects.filter(account_id=OuterRef("account_id"), recorded_at__lt=end).order_by("-recorded_at")
    floor = ExpressionWrapper(Subquery(newest.values("recorded_at")[:1]) - Value(dt.timedelta(days=2)),
                              output_field=DateTimeField())
    rows = (qs.filter(recorded_at__gte=floor).annotate(day=_local_day("recorded_at", organization))
            .values_list("account_id", "value", "day", "valid_days"))
    return _fetch(rows, ["account_id", "value", "recorded_on", "valid_days"], dates=("recorded_on",),
                  floats=("valid_days",))


def scoring_inputs(
    *, organization: Organization, as_of: dt.date, account_ids=None, configs: Sequence[HealthModelConfig] | None = None,
    raw_usage: bool = False, parallel: bool = False,
) -> ScoringInputs:
    """The organization's signals for scoring ``as_of`` (its local day), for every active account (not
    churned) or exactly ``account_ids``. ``account_id`` is the account's UUID as text in every frame;
    ``accounts`` also carries tier and lifecycle_stage.

    ``configs`` are the models the inputs are for (default: every published version): they decide the
    windows read, and usage is pre-aggregated for their windows (module docstring). ``raw_usage=True``
    reads the raw usage rows instead (slower; valid for any model whose lookback fits the given ones).
    ``parallel=True`` (PostgreSQL outside a transaction: ``health.bulk.can_use_other_connections``) reads seat
    readings, surveys, tickets, touchpoints and pulses on a second connection while this one sums the usage.
    """
    configs = list(configs) if configs is not None else [v.engine_config() for v in published_versions()]
    cuts, _summed, seat_metrics, _breadth = _usage_plan(configs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        side = (pool.submit(on_own_connection, organization, _side_signals, organization, as_of, configs, account_ids)
                if parallel else None)
        accounts = _accounts(account_ids)
        newest = None  # seat metrics' latest readings in the lookback, when the usage sums brought them
        if raw_usage:
            usage = usage_raw(as_of=as_of, lookback_days=cuts[-1] if cuts else 0, account_ids=account_ids)
        else:
            usage, newest = _usage_sums(as_of, configs, account_ids)
        seats, surveys, tickets, touchpoints, pulses = (
            side.result() if side is not None else _side_signals(organization, as_of, configs, account_ids))
    licensed = seats[seats["metric"] == SEATS_METRIC].set_index("account_id")["value"]
    accounts["licensed_seats"] = accounts["account_id"].map(licensed).astype(np.float64)
    if not raw_usage:
        if seat_metrics and cuts:
            latest = newest if newest is not None else seats[seats["metric"].isin(seat_metrics)]
            usage = _split_latest(usage, latest, as_of, cuts)
        usage = _typed_usage(usage[["account_id", "date", "metric", "value"]])
    return ScoringInputs(as_of=as_of, accounts=accounts, usage=usage, surveys=surveys, tickets=tickets,
                         touchpoints=touchpoints, pulses=pulses)


def _side_signals(organization: Organization, as_of: dt.date, configs, account_ids) -> tuple:
    """Seat readings, surveys, tickets, touchpoints and pulses: independent of the usage sums (the one big read)."""
    _cuts, _summed, seat_metrics, _breadth = _usage_plan(configs)
    return (_seat_readings(organization, as_of, seat_metrics, account_ids),
            _surveys(organization, as_of, configs, account_ids), _tickets(organization, as_of, configs, account_ids),
            _touchpoints(organization, as_of, account_ids), _pulses(organization, as_of, account_ids))


# --- snapshots, coverage, freshness ------------------------------------------------------------------------


# Every stored document's arrays, one text per field over all the day's snapshots (the database navigates each
# jsonb once per field and concatenates; the client parses a handful of long texts instead of a row per
# component: ``health.components.aggregated_frame``). Aggregates of one select see the rows in the same order.
_STORED_COMPONENTS_SQL = """
SELECT string_agg(s.account_id::text, ','), string_agg(s.model_version_id::text, ','),
       string_agg(s.components ->> 'component', %s), {fields}
FROM {table} s
WHERE s.organization_id = %s AND s.date = %s AND s.components -> 'component' <> '[]'::jsonb {accounts}
"""


def snapshot_components(*, day: dt.date, account_ids=None) -> pd.DataFrame:
    """The stored components of ``day``'s snapshots as a ``ScoreResult.components`` frame (for
    ``explain_change``): one row per account and component, account_id as text, kind/label/weight from each
    snapshot's model version. On PostgreSQL the database concatenates each field of the documents and the client
    parses a few long texts (``_STORED_COMPONENTS_SQL``); elsewhere, or for documents lacking a field, each
    document is read and parsed on its own."""
    if is_postgres():
        from csops.tenancy.context import current_organization

        params = [current_organization().pk, day]
        accounts = ""
        if account_ids is not None:
            accounts, params = "AND s.account_id = ANY(%s::uuid[])", [*params, [str(pk) for pk in account_ids]]
        sql = _STORED_COMPONENTS_SQL.format(
            table=HealthSnapshot._meta.db_table, accounts=accounts,
            fields=", ".join(f"string_agg(s.components ->> '{f}', ',')" for f in STORED_FIELDS[1:]))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(TUNING)
            cursor.execute(sql, [KEYS_SEPARATOR, *params])
            ids, versions, keys, *fields = cursor.fetchone()
        if ids is None:  # no snapshot with components that day
            return components_frame([], [], [], {})
        configs = dict(HealthModelVersion.objects.filter(pk__in=set(versions.split(","))).values_list("pk", "config"))
        configs = {str(pk): config for pk, config in configs.items()}
        try:
            return aggregated_frame(ids, versions, keys, dict(zip(STORED_FIELDS[1:], fields, strict=True)), configs)
        except ValueError:  # a document lacking a field: read the documents themselves
            pass
    snapshots = list(_scoped(HealthSnapshot.objects.filter(date=day), account_ids)
                     .values_list("account_id", "model_version_id", "components").iterator(chunk_size=5000))
    account_list, versions, documents = ([row[i] for row in snapshots] for i in range(3))
    configs = dict(HealthModelVersion.objects.filter(pk__in=set(versions)).values_list("pk", "config"))
    return components_frame(account_list, versions, documents, {str(pk): config for pk, config in configs.items()})


def latest_snapshot_day() -> dt.date | None:
    return HealthSnapshot.objects.aggregate(day=Max("date"))["day"]


@dataclass(frozen=True)
class Coverage:
    day: dt.date
    active_accounts: int
    with_snapshot: int

    @property
    def ratio(self) -> float | None:
        return self.with_snapshot / self.active_accounts if self.active_accounts else None


def health_coverage(*, organization: Organization, day: dt.date | None = None) -> Coverage:
    """METRICS.md: active accounts (not churned) with a snapshot for ``day`` (default: the org's today) ÷
    active accounts. Two counting queries."""
    day = day or organization.today()
    active = Account.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED)
    covered = HealthSnapshot.objects.filter(date=day, account__in=active.values("pk")).count()
    return Coverage(day=day, active_accounts=active.count(), with_snapshot=covered)


@dataclass(frozen=True)
class Freshness:
    oldest_computed_at: dt.datetime | None
    age: dt.timedelta | None

    @property
    def within_target(self) -> bool:
        return self.age is not None and self.age < dt.timedelta(hours=24)


def health_freshness(*, organization: Organization, now: dt.datetime | None = None) -> Freshness:
    """Data freshness: now − the oldest ``computed_at`` among the latest snapshots of active accounts.

    An account's latest snapshot is the one of ``Account.health_as_of`` (kept in step by the recompute), so
    this is one join, not a scan of history. Active accounts never scored do not count here (they show up
    in coverage). Computed_at rather than each input's own timestamp: the recompute reads every input the
    moment it runs, so a snapshot is as fresh as its run (usage days are calendar days without a time)."""
    now = now or timezone.now()
    oldest = (HealthSnapshot.objects.filter(date=F("account__health_as_of"))  # a join: each account's latest
              .exclude(account__lifecycle_stage=LifecycleStage.CHURNED)
              .aggregate(oldest=Min("computed_at"))["oldest"])
    return Freshness(oldest_computed_at=oldest, age=(now - oldest) if oldest else None)
