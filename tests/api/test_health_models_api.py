"""v1 API of health models: everyone reads; ops admins (and read-write tokens an ops admin created) write."""
import pytest

from csops.tenancy.context import tenant_context
from csops.tenancy.models import TokenScope
from csops.tenancy.services import Actor, api_token_create
from health.models import HealthModel, VersionStatus
from tests.factories import HealthSnapshotFactory

from .conftest import api_url

pytestmark = pytest.mark.django_db

TWO_PARTS = {"components": [{"kind": "seat_utilisation", "weight": 60, "points": [[0.1, 0], [0.9, 100]]},
                            {"kind": "nps", "weight": 40, "params": {"window_days": 90}}],
             "healthy_min": 75, "at_risk_below": 35, "notes": "Seats first"}


@pytest.fixture
def default(world):
    with tenant_context(world.org):
        return HealthModel.objects.get(segment_field="")


@pytest.fixture
def admin_api(session_client, world):
    return session_client(world.admin)


@pytest.fixture
def admin_token(api_client, world):
    """A read-write token created by an ops admin: it writes health models."""
    _, secret = api_token_create(organization=world.org, actor=Actor(user=world.admin), name="ops",
                                 scope=TokenScope.READ_WRITE)
    return api_client(secret)


def test_list_and_detail_for_every_member(ro, session_client, world, default):
    body = ro.get(api_url("healthmodel", world.org.slug)).json()
    [model] = body["results"]
    assert model["is_default"] and model["segment_label"].startswith("Default")
    assert model["published"]["number"] == 1 and model["published"]["config"]["healthy_min"] == 70
    assert model["draft"] is None and [v["number"] for v in model["versions"]] == [1]
    assert "config" not in model["versions"][0]  # summaries in lists
    detail = session_client(world.viewer).get(api_url("healthmodel", world.org.slug, default.pk)).json()
    assert detail["versions"][0]["config"]["components"][0]["kind"] == "seat_utilisation"


def test_create_update_draft_and_publish(admin_api, world, default):
    created = admin_api.post(api_url("healthmodel", world.org.slug),
                             {"name": "Enterprise", "segment_field": "tier", "segment_value": "enterprise"},
                             format="json")
    assert created.status_code == 201, created.json()
    model = created.json()
    assert model["published"] is None and model["draft"]["number"] == 1
    draft = admin_api.put(api_url("healthmodel", world.org.slug, model["id"], "draft"), TWO_PARTS, format="json")
    assert draft.status_code == 200, draft.json()
    assert [c["key"] for c in draft.json()["config"]["components"]] == ["seat_utilisation", "nps"]
    published = admin_api.post(api_url("healthmodel", world.org.slug, model["id"], "publish"), {}, format="json")
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert published.json()["notes"] == "Seats first" and published.json()["published_by"] == world.admin.email
    renamed = admin_api.patch(api_url("healthmodel", world.org.slug, model["id"]), {"name": "Enterprise v2"},
                              format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Enterprise v2"


def test_weights_not_summing_to_100_are_refused_and_nothing_is_saved(admin_api, world, default):
    body = {**TWO_PARTS, "components": [{"kind": "seat_utilisation", "weight": 60}, {"kind": "nps", "weight": 30}]}
    response = admin_api.put(api_url("healthmodel", world.org.slug, default.pk, "draft"), body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["config"] == ["weights must sum to 100, got 90"]
    with tenant_context(world.org):
        assert not default.versions.filter(status=VersionStatus.DRAFT).exists()


def test_publish_retires_the_previous_version(admin_token, world, default):
    assert admin_token.put(api_url("healthmodel", world.org.slug, default.pk, "draft"), TWO_PARTS,
                           format="json").status_code == 200
    response = admin_token.post(api_url("healthmodel", world.org.slug, default.pk, "publish"), {"notes": "x"},
                                format="json")
    assert response.status_code == 200 and response.json()["number"] == 2
    with tenant_context(world.org):
        assert dict(default.versions.values_list("number", "status")) == {1: "retired", 2: "published"}
    again = admin_token.post(api_url("healthmodel", world.org.slug, default.pk, "publish"), {}, format="json")
    assert again.status_code == 400 and "no draft" in str(again.json()["errors"])


def test_discard_draft(admin_api, world, default):
    admin_api.put(api_url("healthmodel", world.org.slug, default.pk, "draft"), TWO_PARTS, format="json")
    assert admin_api.delete(api_url("healthmodel", world.org.slug, default.pk, "draft")).status_code == 204
    with tenant_context(world.org):
        assert list(default.versions.values_list("status", flat=True)) == ["published"]


def test_delete_of_default_or_in_use_model_is_refused(admin_api, world, default, account):
    response = admin_api.delete(api_url("healthmodel", world.org.slug, default.pk))
    assert response.status_code == 409 and response.json()["code"] == "in_use"
    mid = {"name": "Mid", "segment_field": "tier", "segment_value": "mid_market"}
    model = admin_api.post(api_url("healthmodel", world.org.slug), mid, format="json").json()
    version = admin_api.post(api_url("healthmodel", world.org.slug, model["id"], "publish"), {}, format="json").json()
    with tenant_context(world.org):
        HealthSnapshotFactory(account=account, model_version_id=version["id"])
    response = admin_api.delete(api_url("healthmodel", world.org.slug, model["id"]))
    assert response.status_code == 409 and "in use" in response.json()["detail"]
    with tenant_context(world.org):
        assert HealthModel.objects.filter(pk=model["id"]).exists()


def test_unused_segment_model_can_be_deleted(admin_api, world):
    model = admin_api.post(api_url("healthmodel", world.org.slug),
                           {"name": "SMB", "segment_field": "tier", "segment_value": "smb"}, format="json").json()
    assert admin_api.delete(api_url("healthmodel", world.org.slug, model["id"])).status_code == 204


@pytest.mark.parametrize("who", ["viewer", "csm", "manager", "leader", "token_ro", "token_rw_by_nobody"])
def test_only_ops_admins_write(who, session_client, api_client, world, default):
    client = api_client(world.token_ro if who == "token_ro" else world.token_rw) if who.startswith("token") \
        else session_client(getattr(world, who))
    slug = world.org.slug
    attempts = [
        client.post(api_url("healthmodel", slug), {"name": "X", "segment_field": "tier", "segment_value": "smb"},
                    format="json"),
        client.put(api_url("healthmodel", slug, default.pk, "draft"), TWO_PARTS, format="json"),
        client.post(api_url("healthmodel", slug, default.pk, "publish"), {}, format="json"),
        client.patch(api_url("healthmodel", slug, default.pk), {"name": "Renamed"}, format="json"),
        client.delete(api_url("healthmodel", slug, default.pk, "draft")),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    with tenant_context(world.org):
        assert HealthModel.objects.count() == 1 and default.versions.count() == 1
    assert client.get(api_url("healthmodel", slug, default.pk)).status_code == 200  # but they read


def test_read_write_token_created_by_a_non_admin_cannot_write(api_client, world, default):
    _, secret = api_token_create(organization=world.org, actor=Actor(user=world.csm), name="csm's",
                                 scope=TokenScope.READ_WRITE)
    response = api_client(secret).put(api_url("healthmodel", world.org.slug, default.pk, "draft"), TWO_PARTS,
                                      format="json")
    assert response.status_code == 403


def test_other_organizations_models_are_404(api_client, other_world, world, default):
    outsider = api_client(other_world.token_rw)
    assert outsider.get(api_url("healthmodel", world.org.slug, default.pk)).status_code == 404
    own_slug = api_client(other_world.token_ro).get(api_url("healthmodel", other_world.org.slug, default.pk))
    assert own_slug.status_code == 404
