"""Snapshot core: loading signals set-wise (and exactly), model assignment, the recompute and its writes."""
import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, SupportTicket, SurveyResponse, Touchpoint, UsageRecord
from csops.tenancy.context import tenant_context
from health import selectors
from health.components import FIELDS, STORED_FIELDS, component_rows, documents
from health.models import HealthModel, HealthModelVersion, HealthSnapshot, Pulse, SegmentField, VersionStatus
from health.scoring import ComponentConfig, HealthModelConfig, ScoringInputs, compute_signals, default_model, score
from health.services import snapshots as snapshot_services
from health.services.snapshots import snapshots_backfill, snapshots_recompute
from tests.factories import AccountFactory, OrganizationFactory

from .signal_data import DAY, at, now_at, populate, usage

pytestmark = pytest.mark.django_db

BREADTH_MODEL = default_model(key_features=("reports", "exports"), version="breadth")
CLASHING_MODEL = HealthModelConfig(  # one metric read as a latest reading AND summed, odd windows
    version="clash",
    components=(
        ComponentConfig(kind="seat_utilisation", weight=15, params={"metric": "logins", "window_days": 14}),
        ComponentConfig(kind="usage_trend", weight=15, params={"metric": "logins", "window_days": 7}),
        ComponentConfig(kind="feature_breadth", weight=10, params={"key_features": ["reports", "logins"],
                                                                    "window_days": 10}),
        ComponentConfig(kind="nps", weight=10, params={"window_days": 30}),
        ComponentConfig(kind="csat", weight=10, params={"window_days": 60}),
        ComponentConfig(kind="escalations", weight=10, params={"window_days": 20}),
        ComponentConfig(kind="open_priority_tickets", weight=10),
        ComponentConfig(kind="days_to_renewal", weight=5),
        ComponentConfig(kind="touchpoint_recency", weight=5),
        ComponentConfig(kind="csm_pulse", weight=10, params={"validity_days": 10}),
    ),
)


def _oracle_inputs(org, as_of) -> ScoringInputs:
    """Every stored row, read naively (no window, no aggregation), dates converted one by one."""
    tz = org.tzinfo

    def local(value):
        return None if value is None else pd.Timestamp(value.astimezone(tz).date())

    ids = [a.pk for a in Account.objects.exclude(lifecycle_stage="churned")]
    seats = {}
    for record in UsageRecord.objects.filter(metric="licensed_seats", date__lte=as_of).order_by("date"):
        seats[record.account_id] = record.value
    accounts = pd.DataFrame({
        "account_id": [str(pk) for pk in ids],
        "licensed_seats": [seats.get(pk, np.nan) for pk in ids],
        "renewal_date": pd.to_datetime([Account.objects.get(pk=pk).renewal_date for pk in ids]),
    })
    usage_rows = [(str(u.account_id), pd.Timestamp(u.date), u.metric, u.value) for u in UsageRecord.objects.all()]
    surveys = [(str(s.account_id), None if s.contact_id is None else str(s.contact_id), local(s.responded_at), s.kind,
                s.score) for s in SurveyResponse.objects.all()]
    tickets = [(str(t.account_id), local(t.opened_at), local(t.closed_at), t.priority, t.escalated)
               for t in SupportTicket.objects.all()]
    touch = [(str(t.account_id), local(t.occurred_at)) for t in Touchpoint.objects.all()]
    pulses = [(str(p.account_id), p.value, local(p.recorded_at), p.valid_days) for p in Pulse.objects.all()]
    return ScoringInputs(
        as_of=as_of, accounts=accounts,
        usage=pd.DataFrame(usage_rows, columns=["account_id", "date", "metric", "value"]),
        surveys=pd.DataFrame(surveys, columns=["account_id", "contact_id", "responded_on", "kind", "score"]),
        tickets=pd.DataFrame(tickets, columns=["account_id", "opened_on", "closed_on", "priority", "escalated"])
        if tickets else None,
        touchpoints=pd.DataFrame(touch, columns=["account_id", "occurred_on"]),
        pulses=pd.DataFrame(pulses, columns=["account_id", "value", "recorded_on", "valid_days"]),
    )


def _scored(inputs, config):
    signals = compute_signals(inputs, config)
    return signals, score(signals, config)


@pytest.mark.parametrize(("seed", "tz", "fractional"), [(1, "UTC", False), (2, "America/Los_Angeles", True),
                                                        (3, "Asia/Kolkata", False)])
def test_loaded_inputs_score_exactly_like_every_raw_row(seed, tz, fractional):
    """The set-wise loader (windows, latest rows, usage pre-aggregated in SQL, local dates) gives the engine
    exactly the answer it gives on every stored row read naively — for two quite different models."""
    org = OrganizationFactory(slug=f"exact-{seed}", timezone=tz)
    with tenant_context(org):
        populate(org, accounts=8, seed=seed, fractional=fractional)
        Account.objects.filter(pk=Account.objects.order_by("pk").first().pk).update(lifecycle_stage="churned")
        oracle = _oracle_inputs(org, DAY)
        configs = [BREADTH_MODEL, CLASHING_MODEL]
        loaded = selectors.scoring_inputs(organization=org, as_of=DAY, configs=configs)
        assert len(loaded.usage) < len(oracle.usage) / 3  # aggregated before it left the database
        for config in configs:
            want_signals, want = _scored(oracle, config)
            got_signals, got = _scored(loaded, config)
            pd.testing.assert_frame_equal(got_signals, want_signals, rtol=1e-12)
            pd.testing.assert_frame_equal(got.accounts, want.accounts)
            pd.testing.assert_frame_equal(got.components, want.components, rtol=1e-12)


def test_raw_usage_option_matches_the_aggregated_one():
    org = OrganizationFactory(slug="rawagg")
    with tenant_context(org):
        populate(org, accounts=5, seed=7)
        raw = selectors.scoring_inputs(organization=org, as_of=DAY, configs=[CLASHING_MODEL], raw_usage=True)
        agg = selectors.scoring_inputs(organization=org, as_of=DAY, configs=[CLASHING_MODEL])
        pd.testing.assert_frame_equal(_scored(raw, CLASHING_MODEL)[1].components,
                                      _scored(agg, CLASHING_MODEL)[1].components)


def test_datetimes_become_the_organizations_local_date():
    org = OrganizationFactory(slug="tz-la", timezone="America/Los_Angeles")
    with tenant_context(org):
        account = AccountFactory(organization=org)
        SurveyResponse.objects.create(account=account, external_id="late", kind="nps", score=9,
                                      responded_at=dt.datetime(2025, 7, 1, 3, 0, tzinfo=dt.UTC))  # 30 Jun 20:00 PDT
        Touchpoint.objects.create(account=account, summary="x", occurred_at=dt.datetime(2025, 7, 1, 8, tzinfo=dt.UTC))
        inputs = selectors.scoring_inputs(organization=org, as_of=DAY, configs=[default_model()])
        assert list(inputs.surveys["responded_on"]) == [pd.Timestamp("2025-06-30")]
        assert inputs.touchpoints.empty  # 1 Jul 01:00 local: after as_of


def test_no_ticket_ever_means_no_ticket_feed():
    org = OrganizationFactory(slug="nofeed")
    with tenant_context(org):
        account = AccountFactory(organization=org)
        assert selectors.scoring_inputs(organization=org, as_of=DAY).tickets is None
        SupportTicket.objects.create(account=account, external_id="t", opened_at=at(DAY - dt.timedelta(days=400)),
                                     closed_at=at(DAY - dt.timedelta(days=399)))
        tickets = selectors.scoring_inputs(organization=org, as_of=DAY).tickets
        assert tickets is not None and tickets.empty  # the feed exists; long-closed tickets are not read


def test_loading_costs_the_same_queries_for_3_or_30_accounts():
    counts = []
    for n in (3, 30):
        org = OrganizationFactory(slug=f"q-{n}")
        with tenant_context(org):
            populate(org, accounts=n, seed=n, days=10)
            with CaptureQueriesContext(connection) as queries:
                selectors.scoring_inputs(organization=org, as_of=DAY, configs=[BREADTH_MODEL])
            counts.append(len(_reads(queries)))
    assert counts[0] == counts[1] <= 9


def _reads(queries) -> list[str]:
    """The statements that read data (not savepoints, SET LOCAL tuning or the tenant's set_config)."""
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].lstrip().upper().startswith(("SELECT", "COPY", "WITH")) and "set_config" not in q["sql"]]


def _segment_model(org, name, field, value, *, weight_nps=50):
    model = HealthModel.objects.create(organization=org, name=name, segment_field=field, segment_value=value)
    config = HealthModelConfig(version="x", components=(ComponentConfig(kind="nps", weight=weight_nps),
                                                        ComponentConfig(kind="csm_pulse", weight=100 - weight_nps)))
    return HealthModelVersion.objects.create(organization=org, model=model, number=1, status=VersionStatus.PUBLISHED,
                                             config=config.to_dict())


def test_stage_model_beats_tier_model_beats_default():
    org = OrganizationFactory(slug="segments")
    with tenant_context(org):
        stage = _segment_model(org, "Onboarding", SegmentField.LIFECYCLE_STAGE, "onboarding")
        tier = _segment_model(org, "Enterprise", SegmentField.TIER, "enterprise", weight_nps=40)
        draft_only = HealthModel.objects.create(organization=org, name="SMB", segment_field=SegmentField.TIER,
                                                segment_value="smb")
        HealthModelVersion.objects.create(organization=org, model=draft_only, number=1,
                                          config=default_model().to_dict())
        both = AccountFactory(organization=org, tier="enterprise", lifecycle_stage="onboarding")
        tier_only = AccountFactory(organization=org, tier="enterprise", lifecycle_stage="mature")
        smb = AccountFactory(organization=org, tier="smb", lifecycle_stage="mature")
        inputs = selectors.scoring_inputs(organization=org, as_of=DAY)
        chosen = selectors.model_versions_for_accounts(organization=org, accounts=inputs.accounts).account_version
        default = HealthModelVersion.objects.get(model__segment_field="", status="published")
        assert chosen[str(both.pk)] == stage.pk
        assert chosen[str(tier_only.pk)] == tier.pk
        assert chosen[str(smb.pk)] == default.pk  # the SMB model has only a draft


def _rows(day):
    return {str(s.account_id): (s.model_version_id, s.score, s.band, s.components, s.missing, s.top_detractor,
                                s.top_detractor_points, s.why_changed, s.pk)
            for s in HealthSnapshot.objects.filter(date=day)}


@pytest.fixture
def scored_org(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: now_at(DAY, 15))
    org = OrganizationFactory(slug="scored")
    with tenant_context(org):
        accounts = populate(org, accounts=10, seed=11)
        yield org, accounts


def test_recompute_writes_one_snapshot_per_active_account_and_the_accounts_fields(scored_org):
    org, accounts = scored_org
    churned = AccountFactory(organization=org, lifecycle_stage="churned")
    summary = snapshots_recompute(organization=org)
    assert summary.day == DAY and summary.accounts == len(accounts)
    snapshots = HealthSnapshot.objects.filter(date=DAY)
    assert snapshots.count() == len(accounts)
    assert not snapshots.filter(account=churned).exists()
    for snap in snapshots:
        json.dumps(snap.components, allow_nan=False)  # JSON-safe: NaN → null, dates → ISO
        assert set(snap.components) == set(STORED_FIELDS)  # kind, label and weight are the model version's
        rows = component_rows(snap.components, snap.model_version.config)
        assert [c["component"] for c in rows] == list(default_model().keys)
        assert [c["label"] for c in rows] == [c.label for c in default_model().components]
        assert set(rows[0]) == set(FIELDS)
        account = Account.objects.get(pk=snap.account_id)
        assert (account.health_score, account.health_band, account.health_as_of) == (snap.score, snap.band, DAY)
        assert snap.why_changed == "No previous score" or snap.band == "unknown"
    assert sum(summary.bands.values()) == len(accounts)


def test_snapshot_rows_equal_the_engines_result(scored_org):
    org, _ = scored_org
    snapshots_recompute(organization=org)
    version = HealthModelVersion.objects.get(status="published")
    config = version.engine_config()
    inputs = selectors.scoring_inputs(organization=org, as_of=DAY, configs=[config])
    result = score(compute_signals(inputs, config), config)
    stored = documents(result.components)
    assert any(any(d["observed_on"]) for d in stored.values())
    assert any(None in d["raw_value"] for d in stored.values())
    for snap in HealthSnapshot.objects.filter(date=DAY):
        expected = result.accounts.loc[str(snap.account_id)]
        assert snap.band == expected["band"]
        assert snap.score == (None if pd.isna(expected["score"]) else Decimal(f"{expected['score']:.1f}"))
        assert snap.missing == list(expected["missing"])
        assert snap.top_detractor == (expected["top_detractor"] or "")
        assert snap.components == stored[str(snap.account_id)]  # every value, NaN → null, dates → ISO


def test_running_twice_leaves_identical_rows(scored_org):
    org, _ = scored_org
    snapshots_recompute(organization=org)
    first = _rows(DAY)
    snapshots_recompute(organization=org)
    assert _rows(DAY) == first


def test_why_changed_reads_the_snapshot_of_seven_days_before(scored_org):
    org, accounts = scored_org
    week_ago = DAY - dt.timedelta(days=7)
    snapshots_backfill(organization=org, days=[week_ago, DAY])
    account = accounts[0]
    Pulse.objects.filter(account=account).delete()
    Pulse.objects.create(account=account, value="concerned", reason="silence", valid_days=30,
                         recorded_at=at(DAY, 1))
    snapshots_recompute(organization=org, account_ids=[account.pk])
    snap = HealthSnapshot.objects.get(account=account, date=DAY)
    assert "CSM pulse" in snap.why_changed or snap.band == "unknown"
    assert HealthSnapshot.objects.filter(date=week_ago).count() == len(accounts)


def test_backfill_of_a_past_day_keeps_the_accounts_latest_health(scored_org):
    org, accounts = scored_org
    snapshots_recompute(organization=org)
    before = {a.pk: (a.health_score, a.health_band, a.health_as_of) for a in Account.objects.all()}
    summaries = snapshots_backfill(organization=org, days=[DAY - dt.timedelta(days=d) for d in (3, 2, 1)])
    assert [s.day for s in summaries] == [DAY - dt.timedelta(days=d) for d in (3, 2, 1)]
    assert all(s.accounts_updated == 0 for s in summaries)
    assert {a.pk: (a.health_score, a.health_band, a.health_as_of) for a in Account.objects.all()} == before
    assert HealthSnapshot.objects.count() == 4 * len(accounts)


def test_a_crash_mid_run_leaves_the_old_rows(scored_org, monkeypatch):
    org, accounts = scored_org
    snapshots_recompute(organization=org)
    old = _rows(DAY)
    UsageRecord.objects.filter(metric="logins").delete()  # the next run would change many rows

    def boom(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(snapshot_services, "accounts_health_set", boom)
    with pytest.raises(RuntimeError):
        snapshots_recompute(organization=org)
    assert _rows(DAY) == old
    monkeypatch.undo()


def test_recomputing_a_few_accounts_touches_only_them(scored_org):
    org, accounts = scored_org
    snapshots_recompute(organization=org)
    others_before = {k: v for k, v in _rows(DAY).items() if k != str(accounts[0].pk)}
    summary = snapshots_recompute(organization=org, account_ids=[accounts[0].pk])
    assert summary.accounts == 1
    assert {k: v for k, v in _rows(DAY).items() if k != str(accounts[0].pk)} == others_before


def test_alerts_are_detected_after_the_write(scored_org, monkeypatch):
    org, accounts = scored_org
    calls = []

    def fake_detect(*, organization, day, account_ids=None):
        calls.append((organization, day, account_ids, HealthSnapshot.objects.filter(date=day).count()))
        return 2

    monkeypatch.setattr("health.services.alerts.alerts_detect", fake_detect)
    summary = snapshots_recompute(organization=org)
    assert calls == [(org, DAY, None, len(accounts))] and summary.alerts == 2
    snapshots_recompute(organization=org, account_ids=[accounts[1].pk])
    assert calls[-1][2] == [str(accounts[1].pk)]


def test_recompute_query_count_does_not_grow_with_accounts(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: now_at(DAY, 15))
    counts = []
    for n in (3, 25):
        org = OrganizationFactory(slug=f"budget-{n}")
        with tenant_context(org):
            populate(org, accounts=n, seed=n, days=5)
            with CaptureQueriesContext(connection) as queries:
                snapshots_recompute(organization=org)
            counts.append(len(queries))  # every statement, writes included
    assert counts[0] == counts[1]


def test_coverage_and_freshness(scored_org):
    org, accounts = scored_org
    assert selectors.health_coverage(organization=org).ratio == 0
    assert selectors.health_freshness(organization=org).age is None
    snapshots_recompute(organization=org, account_ids=[a.pk for a in accounts[:4]])
    coverage = selectors.health_coverage(organization=org)
    assert (coverage.with_snapshot, coverage.active_accounts) == (4, len(accounts))
    snapshots_recompute(organization=org)
    assert selectors.health_coverage(organization=org).ratio == 1
    HealthSnapshot.objects.filter(account=accounts[2]).update(computed_at=now_at(DAY, 1))
    freshness = selectors.health_freshness(organization=org, now=now_at(DAY, 16))
    assert freshness.age == dt.timedelta(hours=15) and freshness.within_target


def test_an_organization_without_accounts_writes_nothing():
    org = OrganizationFactory(slug="empty")
    summary = snapshots_recompute(organization=org, day=DAY)
    assert summary.accounts == 0
    with tenant_context(org):
        assert not HealthSnapshot.objects.exists()


def test_usage_of_the_seat_metric_is_split_exactly():
    """The latest seat reading keeps its own value; the rest of its segment moves to the segment's first day."""
    org = OrganizationFactory(slug="split")
    with tenant_context(org):
        account = AccountFactory(organization=org)
        UsageRecord.objects.bulk_create([usage(org, account, DAY - dt.timedelta(days=d), "logins", v)
                                         for d, v in [(0, 3), (1, 9), (2, 4), (10, 5)]]
                                        + [usage(org, account, DAY, "licensed_seats", 10)])
        inputs = selectors.scoring_inputs(organization=org, as_of=DAY, configs=[CLASHING_MODEL])
        signals = compute_signals(inputs, CLASHING_MODEL).iloc[0]
        assert signals["seat_utilisation"] == pytest.approx(0.3)
        assert signals["usage_trend"] == pytest.approx(16 / 5)
