"""CSM pulses: the pulse_record service (validation, default validity from the model, audit, recompute after
commit) and the pulse POST on the account page (htmx partial, errors, permissions)."""
import datetime as dt
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from csops.tenancy.context import tenant_context
from csops.tenancy.models import AuditEvent
from csops.tenancy.services import Actor
from health.models import HealthModelVersion, Pulse, VersionStatus
from health.services.pulses import pulse_default_validity_days, pulse_record, pulse_stale_on
from tests.factories import AccountFactory, PulseFactory

RECOMPUTE = "health.tasks.health_recompute_accounts.delay_on_commit"


def pulse_url(org, account):
    return reverse("health:pulse_record", kwargs={"org_slug": org.slug, "account_id": account.pk})


def test_pulse_record_writes_pulse_audit_and_enqueues_recompute(world, tenant, account):
    with mock.patch(RECOMPUTE) as recompute:
        pulse = pulse_record(account=account, actor=Actor(user=world.csm), value="concerned",
                             reason="  Champion left last week  ")
    assert (pulse.value, pulse.reason, pulse.valid_days, pulse.recorded_by) == (
        "concerned", "Champion left last week", 30, world.csm)
    recompute.assert_called_once_with(world.org.id, [str(account.pk)])
    event = AuditEvent.objects.get(action="pulse.create", object_id=str(pulse.pk))
    assert event.actor_user == world.csm and event.after["value"] == "concerned"


def test_recompute_runs_only_after_commit(world, tenant, account, django_capture_on_commit_callbacks):
    with mock.patch("health.tasks.health_recompute_accounts.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            pulse_record(account=account, actor=Actor(user=world.csm), value="good", reason="Great QBR")
        delay.assert_not_called()
        for callback in callbacks:
            callback()
        delay.assert_called_once_with(world.org.id, [str(account.pk)])


@pytest.mark.parametrize("fields,field", [
    ({"value": "ecstatic", "reason": "x"}, "value"),
    ({"value": "good", "reason": "   "}, "reason"),
    ({"value": "good", "reason": "x" * 2001}, "reason"),
    ({"value": "good", "reason": "ok", "valid_days": 0}, "valid_days"),
    ({"value": "good", "reason": "ok", "valid_days": 366}, "valid_days"),
])
def test_bad_pulse_is_refused_and_nothing_written(world, tenant, account, fields, field):
    with mock.patch(RECOMPUTE) as recompute, pytest.raises(ValidationError) as exc:
        pulse_record(account=account, actor=Actor(user=world.csm), **fields)
    assert field in exc.value.message_dict
    assert not Pulse.objects.exists() and not AuditEvent.objects.filter(action="pulse.create").exists()
    recompute.assert_not_called()


def test_default_validity_comes_from_the_models_pulse_component(world, tenant, account):
    version = HealthModelVersion.objects.get(model__segment_field="", status=VersionStatus.PUBLISHED)
    config = version.config
    for component in config["components"]:
        if component["kind"] == "csm_pulse":
            component["params"] = {"validity_days": 14}
    HealthModelVersion.objects.filter(pk=version.pk).update(config=config)
    assert pulse_default_validity_days(account=account) == 14
    with mock.patch(RECOMPUTE):
        assert pulse_record(account=account, actor=Actor(user=world.csm), value="good", reason="ok").valid_days == 14
        explicit = pulse_record(account=account, actor=Actor(user=world.csm), value="good", reason="ok", valid_days=60)
    assert explicit.valid_days == 60


def test_stale_on_is_recorded_day_plus_validity_in_the_org_time_zone(world, account):
    world.org.timezone = "America/Los_Angeles"
    # 03:00 UTC on Sep 2 is still Sep 1 in Los Angeles: counts through Sep 30, stale from Oct 1.
    pulse = PulseFactory(account=account, valid_days=30, recorded_at=dt.datetime(2026, 9, 2, 3, tzinfo=dt.UTC))
    assert pulse_stale_on(pulse=pulse, organization=world.org) == dt.date(2026, 10, 1)


# ------------------------------------------------------------------ the POST on the account page


def test_htmx_pulse_post_returns_the_panel_with_the_new_pulse(world, login, account):
    with mock.patch(RECOMPUTE) as recompute:
        response = login(world.csm).post(pulse_url(world.org, account),
                                         {"value": "concerned", "reason": "Budget freeze announced"},
                                         HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="card health-panel" id="account-health">')
    assert "Budget freeze announced" in html and "Pulse recorded" in html and "<html" not in html
    recompute.assert_called_once()
    with tenant_context(world.org):
        assert Pulse.objects.get().recorded_by == world.csm


def test_htmx_pulse_post_with_errors_rerenders_the_form_and_writes_nothing(world, login, account):
    response = login(world.csm).post(pulse_url(world.org, account), {"value": "good", "reason": ""},
                                     HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps 2xx only; the errors are in the panel
    assert "This field is required." in response.content.decode()
    with tenant_context(world.org):
        assert not Pulse.objects.exists()


def test_plain_pulse_post_redirects_to_the_account_page(world, login, account):
    with mock.patch(RECOMPUTE):
        response = login(world.csm).post(pulse_url(world.org, account), {"value": "good", "reason": "QBR went well"})
    assert response.status_code == 302 and response["Location"].endswith(f"/accounts/a/{account.pk}/")
    bad = login(world.csm).post(pulse_url(world.org, account), {"value": "meh", "reason": "x"})
    assert bad.status_code == 302
    with tenant_context(world.org):
        assert Pulse.objects.count() == 1


def test_viewer_cannot_record_a_pulse(world, login, account):
    assert login(world.viewer).post(pulse_url(world.org, account), {"value": "good", "reason": "x"}).status_code == 403


def test_pulse_on_another_orgs_account_is_404(world, other_world, login):
    theirs = AccountFactory(organization=other_world.org)
    response = login(world.csm).post(pulse_url(world.org, theirs), {"value": "good", "reason": "x"})
    assert response.status_code == 404
    with tenant_context(other_world.org):
        assert not Pulse.objects.exists()


def test_get_is_not_allowed(world, login, account):
    assert login(world.csm).get(pulse_url(world.org, account)).status_code == 405
