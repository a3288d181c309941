"""The health model editor in a real browser: the live weights total, removing a component, adding one with
htmx, saving, and the preview."""
import os

import pytest

from csops.tenancy.context import tenant_context
from health.models import HealthModel, VersionStatus

from .test_portfolio_browser import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("E2E_SCREENSHOTS")  # a folder to save screenshots in, when set


def test_admin_edits_a_draft_with_live_total_htmx_rows_and_previews_it(live_server, page, world):
    with tenant_context(world.org):
        default = HealthModel.objects.get(segment_field="")
    log_in(page, live_server.url, world.admin.email)
    page.goto(f"{live_server.url}/o/{world.org.slug}/health/models/{default.pk}/")
    with page.expect_navigation(timeout=90_000):
        page.click("button:has-text('Start a draft')")
    page.wait_for_load_state("networkidle")
    total = page.locator("#weight-total")
    assert "100 %" in total.inner_text() and "good" in total.get_attribute("class")

    # Remove CSM pulse (15 %): the total drops and turns red at once.
    pulse = page.locator(".comp-row", has_text="CSM pulse")
    pulse.locator("[data-remove-row]").click()
    assert "85 %" in total.inner_text() and "bad" in total.get_attribute("class")

    # Add days to renewal through htmx and give it the missing 15 %.
    page.select_option("#add-kind", "days_to_renewal")
    page.click(".add-row button:has-text('Add')")
    row = page.locator(".comp-row", has_text="Days to renewal")
    row.wait_for()
    row.locator(".weight-input").fill("15")
    assert "100 %" in total.inner_text()
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "health_model_editor.png"), full_page=True)

    invalid = page.evaluate("Array.from(document.querySelectorAll('#draft-form :invalid'))"
                            ".map(e => e.name + ': ' + e.value + ' ' + e.validationMessage)")
    assert invalid == []
    with page.expect_navigation(timeout=90_000):
        page.locator("button[name=then][value=preview]").evaluate("b => b.form.requestSubmit(b)")
    page.wait_for_load_state("networkidle")
    assert "/preview/" in page.url, page.locator(".form-errors, .error").all_inner_texts()
    assert "Preview draft v2" in page.content()
    with tenant_context(world.org):
        draft = default.versions.get(status=VersionStatus.DRAFT)
        kinds = [c["kind"] for c in draft.config["components"]]
    assert "csm_pulse" not in kinds and kinds[-1] == "days_to_renewal"
    assert page.problems == []
