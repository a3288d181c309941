"""An ops admin imports product usage from the import page in a real browser: choose the kind, upload, read
the report (an unknown account), import only the valid rows."""
import os

import pytest

from accounts.models import UsageRecord
from csops.tenancy.context import tenant_context
from tests.factories import AccountFactory

from .test_portfolio_browser import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("E2E_SCREENSHOTS")  # a folder to save screenshots in, when set


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_ops_admin_imports_usage_from_the_import_page(live_server, page, world, tmp_path):
    AccountFactory(organization=world.org, external_id="ACME-001", name="Acme")
    file = tmp_path / "usage.csv"
    file.write_text("account_external_id,metric,date,value\nACME-001,active_users,2026-11-20,42\n"
                    "ACME-001,logins,2026-11-20,133\nNOPE-9,logins,2026-11-20,5\n")
    log_in(page, live_server.url, world.admin.email)
    page.goto(f"{live_server.url}/o/{world.org.slug}/import/")
    page.click("text=Product usage")
    page.wait_for_selector("h1:has-text('Import product usage')")
    assert page.locator("td code", has_text="metric").count() == 1
    shot(page, "signal-import-usage")
    page.set_input_files("input[type=file]", str(file))
    page.click("button:has-text('Check the file')")
    page.wait_for_selector("text=No account with account_external_id NOPE-9")
    shot(page, "signal-import-report")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Import only the 2 valid rows')")
    page.wait_for_selector("text=2 usage rows created")
    shot(page, "signal-import-done")
    with tenant_context(world.org):
        assert UsageRecord.objects.count() == 2
    assert not page.problems, page.problems
