"""Health model pages: list/detail/versions for every member; the draft editor, preview, publish, discard and
delete for ops admins only; the preview's numbers against the engine on a hand-built tenant."""
import datetime as dt

import pandas as pd
import pytest
from django.urls import reverse

from accounts.models import UsageRecord
from csops.tenancy.context import tenant_context
from csops.tenancy.services import Actor
from health.models import HealthModel, HealthModelVersion, VersionStatus
from health.preview import model_account_counts, model_preview
from health.scoring import ScoringInputs, compute_signals, score
from health.services.models import (
    health_model_create,
    health_model_draft_start,
    health_model_draft_update,
    health_model_publish,
)
from tests.factories import AccountFactory, HealthSnapshotFactory

pytestmark = pytest.mark.django_db


def url(name, org, **kwargs):
    return reverse(f"health:{name}", kwargs={"org_slug": org.slug, **kwargs})


@pytest.fixture
def default(world):
    with tenant_context(world.org):
        return HealthModel.objects.get(segment_field="")


def editor_post(rows, healthy_min="70", at_risk_below="40", min_present_weight="0", notes="", then="edit"):
    """The editor's POST: rows are dicts of kind/weight/points/label/key/params (field names c-<rid>-…)."""
    data = {"healthy_min": healthy_min, "at_risk_below": at_risk_below, "min_present_weight": min_present_weight,
            "notes": notes, "then": then}
    for i, row in enumerate(rows):
        rid = f"r{i}"
        data[f"c-{rid}-kind"] = row["kind"]
        data[f"c-{rid}-key"] = row.get("key", "")
        data[f"c-{rid}-label"] = row.get("label", "")
        data[f"c-{rid}-weight"] = str(row["weight"])
        data[f"c-{rid}-points"] = row.get("points", "")
        for name, value in row.get("params", {}).items():
            data[f"c-{rid}-param-{name}"] = value
    return data


# ------------------------------------------------------------------ reading


@pytest.mark.parametrize("role", ["viewer", "csm", "manager", "leader", "admin"])
def test_every_member_reads_models_and_versions(world, login, default, role):
    client = login(getattr(world, role))
    with tenant_context(world.org):
        version = default.versions.get()
    assert "Default" in client.get(url("model_list", world.org)).content.decode()
    html = client.get(url("model_detail", world.org, model_id=default.pk)).content.decode()
    assert "Seat utilisation" in html and "Healthy" in html and "v1" in html
    assert client.get(url("model_version", world.org, model_id=default.pk, version_id=version.pk)).status_code == 200
    edit_links = 'href="' + url("model_new", world.org) + '"'
    assert (edit_links in client.get(url("model_list", world.org)).content.decode()) == (role == "admin")


def test_detail_shows_draft_changes_against_the_published_version(world, login, default):
    with tenant_context(world.org):
        health_model_draft_update(model=default, actor=Actor(user=world.admin), healthy_min=75, at_risk_below=40,
                                  components=[{"kind": "seat_utilisation", "weight": 60},
                                              {"kind": "days_to_renewal", "weight": 40}])
    html = login(world.viewer).get(url("model_detail", world.org, model_id=default.pk)).content.decode()
    assert "Draft v2" in html and "was 20 %" in html and "removed" in html and "new" in html
    assert "Publish v2" not in html  # a viewer reads the draft but gets no write controls


def test_list_counts_accounts_each_model_scores(world, tenant, default):
    AccountFactory.create_batch(3, organization=world.org, tier="enterprise", lifecycle_stage="adopting")
    AccountFactory(organization=world.org, tier="smb", lifecycle_stage="adopting")
    AccountFactory(organization=world.org, tier="enterprise", lifecycle_stage="onboarding")
    AccountFactory(organization=world.org, tier="smb", lifecycle_stage="churned")  # never scored
    actor = Actor(user=world.admin)
    ent = health_model_create(organization=tenant, actor=actor, name="Ent", segment_field="tier",
                              segment_value="enterprise")
    onboarding = health_model_create(organization=tenant, actor=actor, name="Onb", segment_field="lifecycle_stage",
                                     segment_value="onboarding")
    assert model_account_counts(organization=tenant) == {default.pk: 5}  # drafts score nothing
    health_model_publish(model=ent, actor=actor)
    health_model_publish(model=onboarding, actor=actor)
    assert model_account_counts(organization=tenant) == {default.pk: 1, ent.pk: 3, onboarding.pk: 1}


# ------------------------------------------------------------------ writing: who may


@pytest.mark.parametrize("role", ["viewer", "csm", "manager", "leader"])
def test_only_ops_admins_write(world, login, default, role):
    client = login(getattr(world, role))
    assert client.get(url("model_draft", world.org, model_id=default.pk)).status_code == 403
    assert client.post(url("model_new", world.org), {"name": "X", "segment": "tier:smb"}).status_code == 403
    for name in ("model_draft_start", "model_publish", "model_discard", "model_delete", "model_draft"):
        assert client.post(url(name, world.org, model_id=default.pk)).status_code == 403, name
    with tenant_context(world.org):
        assert HealthModel.objects.count() == 1 and default.versions.count() == 1


# ------------------------------------------------------------------ writing: the flow


def test_admin_creates_a_segment_model_and_lands_in_its_draft(world, login):
    client = login(world.admin)
    response = client.post(url("model_new", world.org), {"name": "Enterprise", "segment": "tier:enterprise"})
    with tenant_context(world.org):
        model = HealthModel.objects.get(name="Enterprise")
        assert model.versions.get().status == VersionStatus.DRAFT
    assert response.status_code == 302 and response["Location"] == url("model_draft", world.org, model_id=model.pk)
    html = client.get(response["Location"]).content.decode()
    assert "Seat utilisation" in html and 'class="weight-input"' in html and "Weights total:" in html
    again = client.post(url("model_new", world.org), {"name": "Other", "segment": "tier:enterprise"})
    assert "Another health model already applies to Tier: Enterprise." in again.content.decode()


def test_editor_refuses_weights_not_summing_to_100_and_saves_nothing(world, login, default):
    client = login(world.admin)
    client.post(url("model_draft_start", world.org, model_id=default.pk))
    with tenant_context(world.org):
        before = default.versions.get(status=VersionStatus.DRAFT).config
    response = client.post(url("model_draft", world.org, model_id=default.pk), editor_post([
        {"kind": "seat_utilisation", "weight": 50, "points": "0.2 → 0\n0.8 → 100"},
        {"kind": "nps", "weight": 40},
    ]))
    html = response.content.decode()
    assert response.status_code == 200 and "Nothing was saved" in html and "weights must sum to 100, got 90" in html
    with tenant_context(world.org):
        assert default.versions.get(status=VersionStatus.DRAFT).config == before


def test_editor_puts_problems_next_to_their_row(world, login, default):
    client = login(world.admin)
    html = client.post(url("model_draft", world.org, model_id=default.pk), editor_post([
        {"kind": "seat_utilisation", "weight": 50, "points": "0.8 → 0\n0.2 → 100"},
        {"kind": "nps", "weight": 50, "points": "zero to hero"},
    ])).content.decode()
    assert "Curve line 1 (&#x27;zero to hero&#x27;)" in html  # unreadable input is reported before the engine
    html = client.post(url("model_draft", world.org, model_id=default.pk), editor_post([
        {"kind": "seat_utilisation", "weight": 50, "points": "0.8 → 0\n0.2 → 100"},
        {"kind": "nps", "weight": 50},
    ])).content.decode()
    assert "point raw values must strictly increase, got 0.8, 0.2" in html and "comp-row has-error" in html


def test_editor_saves_then_publish_retires_the_old_version(world, login, default):
    client = login(world.admin)
    response = client.post(url("model_draft", world.org, model_id=default.pk), editor_post([
        {"kind": "seat_utilisation", "weight": 60, "points": "0.1 -> 0\n0.9 -> 100", "label": "Seats",
         "params": {"metric": "active_users", "window_days": "14"}},
        {"kind": "csm_pulse", "weight": 40, "params": {"good": "100", "neutral": "50", "concerned": "0",
                                                       "validity_days": "45"}},
    ], healthy_min="72.5", notes="Seats first"))
    assert response.status_code == 302
    with tenant_context(world.org):
        draft = default.versions.get(status=VersionStatus.DRAFT)
        config = draft.engine_config()
    assert [(c.key, c.weight, c.label) for c in config.components] == [("seat_utilisation", 60, "Seats"),
                                                                        ("csm_pulse", 40, "CSM pulse")]
    assert config.components[0].points == ((0.1, 0.0), (0.9, 100.0)) and config.components[0].param("window_days") == 14
    assert config.components[1].param("neutral") == 50 and config.healthy_min == 72.5 and draft.notes == "Seats first"
    response = client.post(url("model_publish", world.org, model_id=default.pk), {"notes": "Seats first"})
    assert response.status_code == 302
    with tenant_context(world.org):
        assert dict(default.versions.values_list("number", "status")) == {1: "retired", 2: "published"}


def test_default_curve_is_stored_as_default(world, login, default):
    client = login(world.admin)
    client.post(url("model_draft", world.org, model_id=default.pk), editor_post([
        {"kind": "nps", "weight": 100, "points": "-100 → 0\n100 → 100"}]))
    with tenant_context(world.org):
        assert default.versions.get(status=VersionStatus.DRAFT).config["components"][0]["points"] == []


def test_add_component_row_fragment(world, login, default):
    html = login(world.admin).get(url("model_draft_component", world.org, model_id=default.pk),
                                  {"kind": "feature_breadth"}).content.decode()
    assert "Feature breadth" in html and "param-key_features" in html and "<html" not in html


def test_discard_and_delete(world, login, default):
    client = login(world.admin)
    client.post(url("model_draft_start", world.org, model_id=default.pk))
    client.post(url("model_discard", world.org, model_id=default.pk))
    with tenant_context(world.org):
        assert not default.versions.filter(status=VersionStatus.DRAFT).exists()
    response = client.post(url("model_delete", world.org, model_id=default.pk), follow=True)
    assert "cannot be deleted" in response.content.decode()
    with tenant_context(world.org):
        model = health_model_create(organization=world.org, actor=Actor(user=world.admin), name="SMB",
                                    segment_field="tier", segment_value="smb")
    response = client.post(url("model_delete", world.org, model_id=model.pk))
    assert response.status_code == 302 and response["Location"] == url("model_list", world.org)
    with tenant_context(world.org):
        assert not HealthModel.objects.filter(pk=model.pk).exists()


def test_in_use_model_cannot_be_deleted_from_the_page(world, login, account):
    with tenant_context(world.org):
        model = health_model_create(organization=world.org, actor=Actor(user=world.admin), name="Mid",
                                    segment_field="tier", segment_value="mid_market")
        version = health_model_publish(model=model, actor=Actor(user=world.admin))
    HealthSnapshotFactory(account=account, model_version=version)
    response = login(world.admin).post(url("model_delete", world.org, model_id=model.pk), follow=True)
    assert "Not deleted. This model is in use" in response.content.decode()
    with tenant_context(world.org):
        assert HealthModel.objects.filter(pk=model.pk).exists()


# ------------------------------------------------------------------ preview


def seats(account, day, licensed, active):
    UsageRecord.objects.create(account=account, date=day, metric="licensed_seats", value=licensed)
    UsageRecord.objects.create(account=account, date=day, metric="active_users", value=active)


@pytest.fixture
def hand_built(world):
    """Four active accounts with seat readings, one churned; an enterprise tier model claims one of them."""
    org = world.org
    today = org.today()
    with tenant_context(org):
        accounts = {
            "half": AccountFactory(organization=org, name="Half", tier="smb"),
            "full": AccountFactory(organization=org, name="Full", tier="smb"),
            "low": AccountFactory(organization=org, name="Low", tier="mid_market"),
            "ent": AccountFactory(organization=org, name="Ent", tier="enterprise"),
            "gone": AccountFactory(organization=org, name="Gone", tier="smb", lifecycle_stage="churned"),
        }
        seats(accounts["half"], today - dt.timedelta(days=3), 10, 5)  # 0.5
        seats(accounts["full"], today - dt.timedelta(days=1), 10, 9)  # 0.9
        seats(accounts["low"], today - dt.timedelta(days=40), 10, 9)  # too old: the 30-day window misses it
        seats(accounts["low"], today - dt.timedelta(days=2), 20, 3)  # 0.15
        seats(accounts["ent"], today, 10, 10)
        seats(accounts["gone"], today, 10, 10)
        actor = Actor(user=world.admin)
        ent = health_model_create(organization=org, actor=actor, name="Ent", segment_field="tier",
                                  segment_value="enterprise")
        health_model_publish(model=ent, actor=actor)
        default = HealthModel.objects.get(segment_field="")
        # Published default: seats alone (min 25 % of weight present) → before; draft: seats with another curve
        health_model_draft_update(model=default, actor=actor, healthy_min=70, at_risk_below=40, min_present_weight=0,
                                  components=[{"kind": "seat_utilisation", "weight": 100}])
        health_model_publish(model=default, actor=actor)
        draft = health_model_draft_update(model=default, actor=actor, healthy_min=80, at_risk_below=40,
                                          components=[{"kind": "seat_utilisation", "weight": 100,
                                                       "points": [[0.0, 0.0], [1.0, 100.0]]}])
    return accounts, default, draft


@pytest.mark.parametrize("in_list_max", [2000, 1], ids=["inputs-by-id", "inputs-of-every-account"])
def test_preview_matches_the_engine_on_a_hand_built_tenant(world, hand_built, monkeypatch, in_list_max):
    monkeypatch.setattr("health.preview.IN_LIST_MAX", in_list_max)
    accounts, default, draft = hand_built
    with tenant_context(world.org):
        preview = model_preview(organization=world.org, model=default, draft=draft)
    rows = {r.name: r for r in preview.rows}
    assert preview.applies_to == 3 and set(rows) == {"Half", "Full", "Low"}  # not Ent (its tier model), not Gone
    # Published v2: 0.2 → 0, 0.8 → 100. Draft v3: 0 → 0, 1 → 100; healthy from 80.
    assert (rows["Half"].before_score, rows["Half"].before_band) == (50.0, "stable")
    assert (rows["Half"].after_score, rows["Half"].after_band) == (50.0, "stable")
    assert (rows["Full"].before_score, rows["Full"].before_band) == (100.0, "healthy")
    assert (rows["Full"].after_score, rows["Full"].after_band) == (90.0, "healthy")
    assert (rows["Low"].before_score, rows["Low"].before_band) == (0.0, "at_risk")
    assert (rows["Low"].after_score, rows["Low"].after_band) == (15.0, "at_risk")
    assert rows["Full"].change == -10.0 and rows["Full"].before_version == "v2 of Default"
    # The same numbers straight from the engine, on inputs written by hand
    as_of = world.org.today()
    inputs = ScoringInputs(
        as_of=as_of,
        accounts=pd.DataFrame({"account_id": [str(accounts[k].pk) for k in ("half", "full", "low")],
                               "licensed_seats": [10.0, 10.0, 20.0]}),
        usage=pd.DataFrame({"account_id": [str(accounts[k].pk) for k in ("half", "full", "low")],
                            "date": [as_of - dt.timedelta(days=d) for d in (3, 1, 2)],
                            "metric": ["active_users"] * 3, "value": [5.0, 9.0, 3.0]}),
    )
    config = draft.engine_config()
    engine = score(compute_signals(inputs, config), config).accounts
    for key in ("half", "full", "low"):
        row = next(r for r in preview.rows if r.account_id == str(accounts[key].pk))
        assert row.after_score == engine.at[str(accounts[key].pk), "score"]
        assert row.after_band == engine.at[str(accounts[key].pk), "band"]


def test_preview_counts_band_moves_and_sorts_by_biggest_change(world, hand_built):
    accounts, default, draft = hand_built
    with tenant_context(world.org):
        draft = health_model_draft_update(model=default, actor=Actor(user=world.admin), healthy_min=95,
                                          at_risk_below=55, components=[{"kind": "seat_utilisation", "weight": 100}])
        preview = model_preview(organization=world.org, model=default, draft=draft)
    # Half 50 stable → at risk; Full 100 healthy stays; Low 0 at risk stays
    assert preview.into_at_risk == 1 and preview.out_of_at_risk == 0 and preview.changed_band == 1
    assert preview.band_moves == [{"before": "stable", "after": "at_risk", "before_label": "Stable",
                                   "after_label": "At risk", "accounts": 1}]
    assert [r.name for r in preview.sorted_rows("change")][0] == "Half"
    counts = {b["band"]: (b["before"], b["after"]) for b in preview.band_counts()}
    assert counts["stable"] == (1, 0) and counts["at_risk"] == (1, 2)


def test_preview_of_a_new_segment_model_compares_with_the_model_scoring_its_accounts_now(world, hand_built):
    accounts, default, _ = hand_built
    with tenant_context(world.org):
        smb = health_model_create(organization=world.org, actor=Actor(user=world.admin), name="SMB",
                                  segment_field="tier", segment_value="smb")
        draft = health_model_draft_update(model=smb, actor=Actor(user=world.admin), healthy_min=70, at_risk_below=40,
                                          components=[{"kind": "seat_utilisation", "weight": 100}])
        preview = model_preview(organization=world.org, model=smb, draft=draft)
    assert {r.name: r.before_version for r in preview.rows} == {"Half": "v2 of Default", "Full": "v2 of Default"}


def test_preview_page(world, login, hand_built):
    _, default, _ = hand_built
    client = login(world.admin)
    html = client.get(url("model_preview", world.org, model_id=default.pk)).content.decode()
    assert "Preview draft v3" in html and "Accounts per band" in html and "model-preview-chart" in html
    assert html.index(">Full<") < html.index(">Half<")  # biggest change first (−10 vs 0)
    fragment = client.get(url("model_preview", world.org, model_id=default.pk), {"sort": "name", "changed": "1"},
                          HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and "No account changes band" in fragment
    assert login(world.leader).get(url("model_preview", world.org, model_id=default.pk)).status_code == 403


def test_preview_without_a_draft_redirects_to_the_model(world, login, default):
    response = login(world.admin).get(url("model_preview", world.org, model_id=default.pk))
    assert response.status_code == 302 and response["Location"] == url("model_detail", world.org, model_id=default.pk)


def test_draft_start_from_the_page(world, login, default):
    response = login(world.admin).post(url("model_draft_start", world.org, model_id=default.pk))
    assert response.status_code == 302
    with tenant_context(world.org):
        assert HealthModelVersion.objects.filter(model=default, status=VersionStatus.DRAFT).count() == 1
        health_model_draft_start(model=default, actor=Actor(user=world.admin))
        assert HealthModelVersion.objects.filter(model=default, status=VersionStatus.DRAFT).count() == 1


# ------------------------------------------------------------------ query budgets


def _queries(client, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_list_and_detail_queries_do_not_grow_with_models_versions_or_accounts(world, login, default):
    from tests.budgets import budget, rls_overhead

    client = login(world.viewer)
    list_url, detail_url = url("model_list", world.org), url("model_detail", world.org, model_id=default.pk)
    AccountFactory(organization=world.org)
    small = (_queries(client, list_url), _queries(client, detail_url))
    actor = Actor(user=world.admin)
    with tenant_context(world.org):
        for tier_, stage in (("smb", "mature"), ("enterprise", "onboarding"), ("tech_touch", "adopting")):
            AccountFactory.create_batch(5, organization=world.org, tier=tier_, lifecycle_stage=stage)
        for tier in ("enterprise", "smb", "tech_touch"):
            model = health_model_create(organization=world.org, actor=actor, name=tier, segment_field="tier",
                                        segment_value=tier)
            health_model_publish(model=model, actor=actor)
            health_model_draft_start(model=model, actor=actor)
        for _ in range(3):
            health_model_draft_start(model=default, actor=actor)
            health_model_publish(model=default, actor=actor)
    large = (_queries(client, list_url), _queries(client, detail_url))
    assert large == small
    # + one more RLS set/reset on PostgreSQL: the default-model check enters its own tenant context
    assert large[0] <= budget(16) + rls_overhead() and large[1] <= budget(17) + rls_overhead(), large
