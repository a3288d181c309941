"""The CSM's morning in a real browser: log in, find an account, complete and snooze tasks in place."""
import datetime as dt

import pytest

from accounts.models import Account
from csops.tenancy.context import tenant_context
from playbooks.models import TaskStatus
from tests.factories import PASSWORD, AccountFactory, TaskFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_csm_completes_and_snoozes_tasks_without_a_reload(live_server, page, world):
    account = AccountFactory(organization=world.org, owner=world.csm, name="Umbrella Corp")
    overdue = TaskFactory(account=account, owner=world.csm, title="Call the champion",
                          due_on=dt.date.today() - dt.timedelta(days=3))
    later = TaskFactory(account=account, owner=world.csm, title="Prepare QBR deck")

    log_in(page, live_server.url, world.csm.email)
    assert "My portfolio" in page.content()
    assert page.locator(f"#task-{overdue.pk}", has_text="3 days overdue").count() == 1  # the open-tasks list
    page.wait_for_selector("#priorities")  # today's priorities load after the page (htmx)
    assert page.locator("#priorities .priority-follow_up", has_text="Call the champion — 3 days overdue").count() == 1
    page.evaluate("window.__marker = 'still here'")  # survives only if the page is not reloaded

    page.locator(f"#task-{overdue.pk} button[title='Mark done']").click()
    page.wait_for_selector(f"#task-{overdue.pk} s")  # the row re-renders struck through
    page.locator(f"#task-{later.pk} summary[title='Snooze']").click()
    page.locator(f"#task-{later.pk} button[value='7']").click()
    page.wait_for_selector(f"#task-{later.pk} >> text=Snoozed until")

    assert page.evaluate("window.__marker") == "still here"
    overdue.refresh_from_db()
    later.refresh_from_db()
    assert overdue.status == TaskStatus.DONE
    assert later.status == TaskStatus.SNOOZED
    assert page.problems == []


def test_search_filters_the_table_in_place(live_server, page, world):
    AccountFactory(organization=world.org, owner=world.csm, name="Umbrella Corp")
    AccountFactory(organization=world.org, owner=world.csm, name="Cyberdyne Systems")
    log_in(page, live_server.url, world.csm.email)
    page.fill("input[name=q]", "cyber")
    page.wait_for_function("!document.querySelector('#account-table').innerText.includes('Umbrella')")
    assert "Cyberdyne Systems" in page.inner_text("#account-table")
    assert "q=cyber" in page.url  # the filter is in the address bar, so it can be shared and reloaded
    assert page.problems == []


def test_log_a_touchpoint_from_the_account_page(live_server, page, world):
    account = AccountFactory(organization=world.org, owner=world.csm, name="Umbrella Corp")
    log_in(page, live_server.url, world.csm.email)
    page.goto(f"{live_server.url}/o/{world.org.slug}/accounts/a/{account.pk}/")
    page.select_option("#touchpoint-form select[name=kind]", "meeting")
    page.fill("#touchpoint-form textarea[name=summary]", "Renewal kickoff with the CFO")
    page.click("#touchpoint-form button[type=submit]")
    page.wait_for_selector("#timeline >> text=Renewal kickoff with the CFO")
    assert page.problems == []


def test_bulk_reassign_owner_choice_does_not_reset_the_selection(live_server, page, world):
    accounts = [AccountFactory(organization=world.org, owner=world.csm, name=f"Bulk {i}") for i in range(3)]
    log_in(page, live_server.url, world.admin.email)
    page.goto(f"{live_server.url}/o/{world.org.slug}/accounts/?scope=all")
    page.check(f"input[name=account_ids][value='{accounts[0].pk}']")
    page.select_option("#bulk-form select[name=new_owner]", str(world.csm2.pk))
    page.wait_for_timeout(500)  # a filter refresh would have re-rendered the table by now
    assert page.is_checked(f"input[name=account_ids][value='{accounts[0].pk}']")
    page.click("#bulk-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Reassigned 1 account" in page.content()
    with tenant_context(world.org):
        assert Account.objects.get(pk=accounts[0].pk).owner == world.csm2
    page.select_option("select[name=tier]", "enterprise")  # the filter form's own selects still filter in place
    page.wait_for_function("!document.querySelector('#account-table').innerText.includes('Bulk 1')")
    assert page.problems == []
