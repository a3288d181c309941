"""Health model services: segment models, drafts validated by the engine, publishing, discarding, deleting."""
import pytest
from django.core.exceptions import ValidationError

from csops.tenancy.models import AuditEvent
from csops.tenancy.services import Actor
from health.models import HealthModel, HealthModelVersion, VersionStatus
from health.scoring import default_model
from health.services.models import (
    health_model_create,
    health_model_delete,
    health_model_discard_draft,
    health_model_draft_start,
    health_model_draft_update,
    health_model_publish,
)
from tests.factories import HealthSnapshotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(world):
    return Actor(user=world.admin)


@pytest.fixture
def default(tenant):
    return HealthModel.objects.get(segment_field="")


def components(**weights):
    return [{"kind": kind, "weight": weight} for kind, weight in weights.items()]


def test_every_new_organization_has_a_published_default_model(default):
    version = default.versions.get()
    assert version.status == VersionStatus.PUBLISHED
    assert version.engine_config().to_dict()["components"] == default_model().to_dict()["components"]


def test_create_segment_model_starts_with_a_draft_copied_from_the_default(tenant, world, actor, default):
    model = health_model_create(organization=tenant, actor=actor, name="Enterprise", segment_field="tier",
                                segment_value="enterprise")
    draft = model.versions.get()
    assert draft.status == VersionStatus.DRAFT and draft.number == 1 and draft.created_by == world.admin
    assert draft.config["components"] == default.versions.get().config["components"]
    assert AuditEvent.objects.filter(action="health_model.create", object_id=str(model.pk)).exists()


@pytest.mark.parametrize("field,value,message_key", [
    ("", "", "segment_field"),  # a second default model
    ("tier", "platinum", "segment_value"),
    ("region", "emea", "segment_field"),
])
def test_create_refuses_a_bad_segment(tenant, actor, field, value, message_key):
    with pytest.raises(ValidationError) as refused:
        health_model_create(organization=tenant, actor=actor, name="X", segment_field=field, segment_value=value)
    assert message_key in refused.value.message_dict
    assert HealthModel.objects.count() == 1


def test_create_refuses_a_second_model_for_the_same_segment_or_name(tenant, actor):
    health_model_create(organization=tenant, actor=actor, name="Ent", segment_field="tier", segment_value="enterprise")
    with pytest.raises(ValidationError) as same_segment:
        health_model_create(organization=tenant, actor=actor, name="Other", segment_field="tier",
                            segment_value="enterprise")
    assert "Another health model already applies to Tier: Enterprise." in same_segment.value.messages
    with pytest.raises(ValidationError) as same_name:
        health_model_create(organization=tenant, actor=actor, name="ent", segment_field="tier", segment_value="smb")
    assert "already exists" in same_name.value.message_dict["name"][0]
    assert HealthModel.objects.count() == 2


def test_draft_start_copies_the_published_version_once(default, actor):
    draft = health_model_draft_start(model=default, actor=actor)
    assert draft.number == 2 and draft.status == VersionStatus.DRAFT
    assert draft.config["components"] == default.versions.get(number=1).config["components"]
    assert health_model_draft_start(model=default, actor=actor).pk == draft.pk  # idempotent: one draft


def test_draft_update_with_weights_not_summing_to_100_is_refused_and_nothing_is_saved(default, actor):
    draft = health_model_draft_start(model=default, actor=actor)
    before = dict(draft.config)
    with pytest.raises(ValidationError) as refused:
        health_model_draft_update(model=default, actor=actor, components=components(seat_utilisation=60, nps=30),
                                  healthy_min=70, at_risk_below=40)
    assert refused.value.message_dict["config"] == ["weights must sum to 100, got 90"]
    draft.refresh_from_db()
    assert draft.config == before


def test_draft_update_lists_every_problem(default, actor):
    with pytest.raises(ValidationError) as refused:
        health_model_draft_update(
            model=default, actor=actor,
            components=[{"kind": "seat_utilisation", "weight": 50, "points": [[0.8, 0], [0.2, 100]]},
                        {"kind": "nps", "weight": 50, "params": {"window_days": 0}}],
            healthy_min=30, at_risk_below=40,
        )
    problems = refused.value.message_dict["config"]
    assert any("strictly increase" in p for p in problems)
    assert any("window_days must be between 1 and 730" in p for p in problems)
    assert any("band thresholds" in p for p in problems)
    assert not default.versions.filter(status=VersionStatus.DRAFT).exists()  # not even a draft was started


def test_draft_update_saves_a_valid_config_and_keys_repeated_kinds(default, actor):
    draft = health_model_draft_update(
        model=default, actor=actor, notes="Two usage trends",
        components=[{"kind": "usage_trend", "weight": 40, "params": {"metric": "logins"}},
                    {"kind": "usage_trend", "weight": 30, "label": "API calls trend",
                     "params": {"metric": "api_calls"}},
                    {"kind": "nps", "weight": 30, "points": [[-50, 0], [50, 100]]}],
        healthy_min=75, at_risk_below=45, min_present_weight=20,
    )
    config = draft.engine_config()
    assert [c.key for c in config.components] == ["usage_trend", "usage_trend_2", "nps"]
    assert config.components[1].label == "API calls trend"
    assert (config.healthy_min, config.at_risk_below, config.min_present_weight) == (75, 45, 20)
    assert draft.notes == "Two usage trends"
    assert default.versions.get(status=VersionStatus.PUBLISHED).number == 1  # published untouched


def test_malformed_input_is_a_clear_error_not_a_crash(default, actor):
    with pytest.raises(ValidationError) as refused:
        health_model_draft_update(model=default, actor=actor, components=[{"kind": "nps", "weight": "lots"}],
                                  healthy_min=70, at_risk_below=40)
    assert "weight of nps must be a number" in refused.value.message_dict["config"][0]


def test_publish_retires_the_previous_version(default, actor, world, django_capture_on_commit_callbacks):
    health_model_draft_update(model=default, actor=actor, components=components(seat_utilisation=50, nps=50),
                              healthy_min=70, at_risk_below=40)
    with django_capture_on_commit_callbacks() as callbacks:
        published = health_model_publish(model=default, actor=actor, notes="Simpler")
    assert len(callbacks) == 1  # today's recompute, enqueued after commit
    statuses = dict(default.versions.values_list("number", "status"))
    assert statuses == {1: VersionStatus.RETIRED, 2: VersionStatus.PUBLISHED}
    assert published.published_by == world.admin and published.published_at and published.notes == "Simpler"
    assert AuditEvent.objects.filter(action="health_model.publish", object_id=str(published.pk)).exists()


def test_publish_without_a_draft_is_refused(default, actor):
    with pytest.raises(ValidationError, match="no draft"):
        health_model_publish(model=default, actor=actor)


def test_discard_draft_keeps_the_published_version(default, actor):
    health_model_draft_start(model=default, actor=actor)
    health_model_discard_draft(model=default, actor=actor)
    assert list(default.versions.values_list("status", flat=True)) == [VersionStatus.PUBLISHED]
    health_model_discard_draft(model=default, actor=actor)  # nothing to discard: no error


def test_default_model_cannot_be_deleted(default, actor):
    with pytest.raises(ValidationError, match="default model"):
        health_model_delete(model=default, actor=actor)
    assert HealthModel.objects.filter(pk=default.pk).exists()


def test_model_whose_versions_scored_snapshots_cannot_be_deleted(tenant, world, actor, account):
    model = health_model_create(organization=tenant, actor=actor, name="SMB", segment_field="tier",
                                segment_value="smb")
    version = health_model_publish(model=model, actor=actor)
    HealthSnapshotFactory(account=account, model_version=version)
    with pytest.raises(ValidationError, match="in use"):
        health_model_delete(model=model, actor=actor)
    assert HealthModelVersion.objects.filter(model=model).count() == 1


def test_unused_segment_model_can_be_deleted(tenant, actor):
    model = health_model_create(organization=tenant, actor=actor, name="SMB", segment_field="tier",
                                segment_value="smb")
    health_model_publish(model=model, actor=actor)
    health_model_delete(model=model, actor=actor)
    assert not HealthModel.objects.filter(pk=model.pk).exists()
    assert AuditEvent.objects.filter(action="health_model.delete", object_id=str(model.pk)).exists()


def test_publish_recomputes_todays_snapshots_with_the_new_version(default, actor, account,
                                                                   django_capture_on_commit_callbacks):
    from health.models import HealthSnapshot

    health_model_draft_update(model=default, actor=actor, components=components(seat_utilisation=50, nps=50),
                              healthy_min=70, at_risk_below=40)
    with django_capture_on_commit_callbacks(execute=True):
        published = health_model_publish(model=default, actor=actor)
    snapshot = HealthSnapshot.objects.get(account=account, date=account.organization.today())
    assert snapshot.model_version_id == published.pk
