"""v1 API: health snapshots (current and historical, with components; filters) and CSM pulses (list, create,
detail; writes need a write-capable role or token)."""
import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest

from accounts.models import Account
from csops.tenancy.context import tenant_context
from csops.tenancy.models import AuditEvent
from health.models import Pulse
from tests.factories import AccountFactory, HealthSnapshotFactory, PulseFactory, snapshot_components

from .conftest import api_url

RECOMPUTE = "health.tasks.health_recompute_accounts.delay_on_commit"


@pytest.fixture
def history(world):
    """Two accounts with three days of snapshots each; their current health denormalised on the account."""
    org, today = world.org, world.org.today()
    a = AccountFactory(organization=org, name="Alpha", external_id="crm-a")
    b = AccountFactory(organization=org, name="Bravo", external_id="crm-b")
    for account, scores in ((a, ["80", "75", "71"]), (b, ["50", "42", "35"])):
        for days_ago, score in zip((2, 1, 0), scores, strict=True):
            HealthSnapshotFactory(account=account, date=today - dt.timedelta(days=days_ago), score=Decimal(score),
                                  components=snapshot_components(float(score), missing=("nps",)))
    with tenant_context(org):
        Account.objects.filter(pk=a.pk).update(health_score=Decimal("71"), health_band="healthy", health_as_of=today)
        # Bravo's latest day is yesterday's (today's run has not reached it): "latest" follows health_as_of.
        Account.objects.filter(pk=b.pk).update(health_score=Decimal("42"), health_band="stable",
                                               health_as_of=today - dt.timedelta(days=1))
    return a, b


def test_snapshot_list_newest_first_with_components(world, rw, history):
    body = rw.get(api_url("snapshot", world.org.slug)).json()
    rows = body["results"]
    assert len(rows) == 6 and rows[0]["date"] == world.org.today().isoformat()
    assert [r["date"] for r in rows] == sorted((r["date"] for r in rows), reverse=True)
    row = rows[0]
    assert set(row) >= {"id", "account", "account_name", "account_external_id", "date", "score", "band",
                        "model_version", "components", "missing", "top_detractor", "why_changed", "computed_at"}
    nps = next(c for c in row["components"] if c["component"] == "nps")
    assert nps["missing"] is True and nps["score"] is None and nps["effective_weight"] == 0.0
    usage = next(c for c in row["components"] if c["component"] == "usage_trend")
    assert usage["contribution"] == pytest.approx(usage["score"] * usage["effective_weight"] / 100)
    assert row["missing"] == ["nps"]


def test_snapshot_filters_account_date_range_band(world, ro, history):
    a, b = history
    today = world.org.today()
    slug = world.org.slug
    by_account = ro.get(api_url("snapshot", slug, account=str(a.pk))).json()["results"]
    assert {r["account"] for r in by_account} == {str(a.pk)} and len(by_account) == 3
    by_external = ro.get(api_url("snapshot", slug, account_external_id="crm-b")).json()["results"]
    assert {r["account_name"] for r in by_external} == {"Bravo"}
    one_day = ro.get(api_url("snapshot", slug, date=today.isoformat())).json()["results"]
    assert len(one_day) == 2
    window = ro.get(api_url("snapshot", slug, date_after=(today - dt.timedelta(days=1)).isoformat(),
                            date_before=(today - dt.timedelta(days=1)).isoformat())).json()["results"]
    assert len(window) == 2 and {r["date"] for r in window} == {(today - dt.timedelta(days=1)).isoformat()}
    at_risk = ro.get(api_url("snapshot", slug, band="at_risk")).json()["results"]
    assert [(r["account_name"], r["score"]) for r in at_risk] == [("Bravo", "35.0")]


def test_snapshot_latest_is_each_accounts_current_snapshot(world, ro, history):
    rows = ro.get(api_url("snapshot", world.org.slug, latest="true")).json()["results"]
    assert sorted((r["account_name"], r["score"]) for r in rows) == [("Alpha", "71.0"), ("Bravo", "42.0")]


def test_snapshot_detail_and_bad_filters(world, ro, history):
    a, _ = history
    with tenant_context(world.org):
        snapshot = a.health_snapshots.order_by("-date").first()
    body = ro.get(api_url("snapshot", world.org.slug, pk=snapshot.pk)).json()
    assert body["id"] == str(snapshot.pk) and len(body["components"]) == 3 and body["top_detractor"] == "usage_trend"
    bad = ro.get(api_url("snapshot", world.org.slug, date="yesterday"))
    assert bad.status_code == 400 and "date" in bad.json()["errors"]
    assert ro.get(api_url("snapshot", world.org.slug, band="great")).status_code == 400


def test_snapshots_are_read_only(world, rw, history):
    a, _ = history
    with tenant_context(world.org):
        snapshot = a.health_snapshots.first()
    assert rw.post(api_url("snapshot", world.org.slug), {}, format="json").status_code == 405
    assert rw.delete(api_url("snapshot", world.org.slug, pk=snapshot.pk)).status_code == 405


def test_snapshot_list_query_count_is_constant(world, ro, history, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):  # token, org, touch, snapshots page (+ savepoints)
        assert len(ro.get(api_url("snapshot", world.org.slug)).json()["results"]) == 6


def test_other_org_cannot_read_snapshots(world, other_world, api_client, history):
    a, _ = history
    with tenant_context(world.org):
        snapshot = a.health_snapshots.first()
    theirs = api_client(other_world.token_rw)
    assert theirs.get(api_url("snapshot", world.org.slug)).status_code == 404
    assert theirs.get(api_url("snapshot", other_world.org.slug, pk=snapshot.pk)).status_code == 404
    assert theirs.get(api_url("snapshot", other_world.org.slug)).json()["results"] == []


# ------------------------------------------------------------------ pulses


def test_create_pulse_with_a_read_write_token(world, rw, account):
    with mock.patch(RECOMPUTE) as recompute:
        response = rw.post(api_url("pulse", world.org.slug),
                           {"account": str(account.pk), "value": "concerned", "reason": "Champion left"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["account"], body["value"], body["valid_days"], body["recorded_by"]) == (
        str(account.pk), "concerned", 30, None)
    assert body["is_stale"] is False
    assert body["stale_on"] == (world.org.today() + dt.timedelta(days=30)).isoformat()
    recompute.assert_called_once_with(world.org.id, [str(account.pk)])
    with tenant_context(world.org):
        assert AuditEvent.objects.get(action="pulse.create").actor_token is not None


def test_create_pulse_as_a_csm_records_the_person(world, session_client, account):
    with mock.patch(RECOMPUTE):
        body = session_client(world.csm).post(api_url("pulse", world.org.slug), {
            "account": str(account.pk), "value": "good", "reason": "QBR went well", "valid_days": 14,
        }, format="json").json()
    assert body["recorded_by"] == world.csm.email and body["valid_days"] == 14


@pytest.mark.parametrize("payload,field", [
    ({"value": "good", "reason": "x"}, "account"),
    ({"account": "not-a-uuid", "value": "good", "reason": "x"}, "account"),
    ({"value": "ecstatic", "reason": "x"}, "value"),
    ({"value": "good", "reason": ""}, "reason"),
    ({"value": "good", "reason": "x", "valid_days": 0}, "valid_days"),
])
def test_bad_pulse_is_a_400_with_the_field(world, rw, account, payload, field):
    payload = {"account": str(account.pk), **payload} if "account" not in payload and field != "account" else payload
    response = rw.post(api_url("pulse", world.org.slug), payload, format="json")
    assert response.status_code == 400 and field in response.json()["errors"], response.json()
    with tenant_context(world.org):
        assert not Pulse.objects.exists()


def test_pulse_on_another_orgs_account_is_refused(world, other_world, rw):
    theirs = AccountFactory(organization=other_world.org)
    response = rw.post(api_url("pulse", world.org.slug),
                       {"account": str(theirs.pk), "value": "good", "reason": "x"}, format="json")
    assert response.status_code == 400 and "account" in response.json()["errors"]


def test_read_only_token_and_viewer_cannot_create(world, ro, session_client, account):
    payload = {"account": str(account.pk), "value": "good", "reason": "x"}
    assert ro.post(api_url("pulse", world.org.slug), payload, format="json").status_code == 403
    assert session_client(world.viewer).post(api_url("pulse", world.org.slug), payload,
                                             format="json").status_code == 403


def test_pulse_list_filters_and_detail(world, ro, account):
    other = AccountFactory(organization=world.org)
    old = PulseFactory(account=account, value="concerned", recorded_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
                       valid_days=30)
    new = PulseFactory(account=account, value="good")
    PulseFactory(account=other, value="neutral")
    rows = ro.get(api_url("pulse", world.org.slug, account=str(account.pk))).json()["results"]
    assert [r["id"] for r in rows] == [str(new.pk), str(old.pk)]
    assert [r["is_stale"] for r in rows] == [False, True] and rows[1]["stale_on"] == "2026-02-04"
    concerned = ro.get(api_url("pulse", world.org.slug, value="concerned")).json()["results"]
    assert [r["id"] for r in concerned] == [str(old.pk)]
    assert ro.get(api_url("pulse", world.org.slug, pk=new.pk)).json()["value"] == "good"


def test_pulses_cannot_be_edited_or_deleted(world, rw, account):
    pulse = PulseFactory(account=account)
    assert rw.patch(api_url("pulse", world.org.slug, pk=pulse.pk), {"value": "good"}, format="json").status_code == 405
    assert rw.delete(api_url("pulse", world.org.slug, pk=pulse.pk)).status_code == 405
