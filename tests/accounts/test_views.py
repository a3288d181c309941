import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, OwnerAssignment, Touchpoint
from csops.tenancy.context import tenant_context
from playbooks.models import Task, TaskStatus
from tests.budgets import budget
from tests.factories import AccountFactory, ContactFactory, TaskFactory


def url(name, world, **kwargs):
    return reverse(name, kwargs={"org_slug": world.org.slug, **kwargs})


def test_csm_lands_on_their_portfolio(world, client, login):
    AccountFactory(organization=world.org, owner=world.csm, name="Mine Inc", arr=Decimal("12000"))
    AccountFactory(organization=world.org, owner=world.csm2, name="Theirs Inc")
    client.force_login(world.csm)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == url("accounts:portfolio", world)
    body = response.content.decode()
    assert "Mine Inc" in body
    assert "Theirs Inc" not in body
    assert "My portfolio" in body


def test_manager_sees_team_and_can_switch_to_one_csm(world, client):
    AccountFactory(organization=world.org, owner=world.csm, name="Team Account")
    AccountFactory(organization=world.org, owner=world.csm2, name="Other Team Account")
    client.force_login(world.manager)
    body = client.get(url("accounts:portfolio", world)).content.decode()
    assert "Team Account" in body and "Other Team Account" not in body
    body = client.get(url("accounts:portfolio", world) + f"?csm={world.csm.pk}").content.decode()
    assert "Team Account" in body
    # a CSM outside the manager's team cannot be chosen: the page falls back to the team view
    body = client.get(url("accounts:portfolio", world) + f"?csm={world.csm2.pk}").content.decode()
    assert "Other Team Account" not in body


def test_leader_sees_whole_org_on_accounts_list(world, client):
    AccountFactory(organization=world.org, owner=world.csm, name="A1")
    AccountFactory(organization=world.org, owner=world.csm2, name="A2")
    client.force_login(world.leader)
    body = client.get(url("accounts:list", world)).content.decode()
    assert "A1" in body and "A2" in body


def test_accounts_list_search_filter_sort_and_htmx_partial(world, client):
    AccountFactory(organization=world.org, owner=world.csm, name="Zeta Corp", tier="enterprise", arr=Decimal("900000"))
    AccountFactory(organization=world.org, owner=world.csm, name="Alpha LLC", tier="smb", arr=Decimal("5000"))
    client.force_login(world.leader)
    body = client.get(url("accounts:list", world) + "?q=zeta").content.decode()
    assert "Zeta Corp" in body and "Alpha LLC" not in body
    body = client.get(url("accounts:list", world) + "?tier=smb").content.decode()
    assert "Alpha LLC" in body and "Zeta Corp" not in body
    body = client.get(url("accounts:list", world) + "?sort=arr&desc=1").content.decode()
    assert body.index("Zeta Corp") < body.index("Alpha LLC")
    partial = client.get(url("accounts:list", world), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="account-table")
    assert "<html" not in partial.content.decode() and "Zeta Corp" in partial.content.decode()


def test_accounts_list_paginates(world, client):
    AccountFactory.create_batch(30, organization=world.org, owner=world.csm)
    client.force_login(world.leader)
    body = client.get(url("accounts:list", world)).content.decode()
    assert "Page 1 of 2" in body


def _queries_for(client, path):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["accounts:portfolio", "accounts:list"])
def test_page_query_count_does_not_grow_with_portfolio_size(world, client, page):
    client.force_login(world.csm)
    AccountFactory.create_batch(10, organization=world.org, owner=world.csm)
    with tenant_context(world.org):
        accounts = list(Account.objects.all())
    for a in accounts:
        TaskFactory(account=a, owner=world.csm)
    small = _queries_for(client, url(page, world))
    big_accounts = AccountFactory.create_batch(190, organization=world.org, owner=world.csm)
    for a in big_accounts[:50]:
        TaskFactory(account=a, owner=world.csm)
    large = _queries_for(client, url(page, world))
    assert small == large, f"{page}: {small} queries for 10 accounts, {large} for 200"
    assert large <= budget(15)  # 14 + the header bell's unread-notification COUNT (on every org page)


def test_account_page_shows_profile_contacts_timeline_tasks_history(world, client, account):
    ContactFactory(account=account, name="Pat Champion", is_primary=True)
    with tenant_context(world.org):
        Touchpoint.objects.create(account=account, summary="Kickoff call went well", author=world.csm)
        OwnerAssignment.objects.create(account=account, new_owner=world.csm, reason="Initial")
    TaskFactory(account=account, owner=world.csm, title="Send QBR deck")
    client.force_login(world.viewer)
    body = client.get(url("accounts:detail", world, account_id=account.pk)).content.decode()
    for text in ["Initech", "Pat Champion", "Kickoff call went well", "Send QBR deck", "Owner history"]:
        assert text in body
    assert "Log activity" not in body  # viewers read only


def test_log_touchpoint_in_place_updates_last_touch(world, client, account):
    client.force_login(world.csm)
    response = client.post(
        url("accounts:touchpoint_add", world, account_id=account.pk),
        {
            "kind": "qbr",
            "occurred_at": "2026-01-10T10:00",
            "summary": "QBR: expansion interest",
            "attendees": "a, b",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "QBR: expansion interest" in response.content.decode()
    with tenant_context(world.org):
        touchpoint = Touchpoint.objects.get()
        account.refresh_from_db()
    assert touchpoint.attendees == ["a", "b"] and touchpoint.author == world.csm
    assert account.last_touchpoint_at == touchpoint.occurred_at


def test_touchpoint_validation_error_is_shown_not_500(world, client, account):
    client.force_login(world.csm)
    response = client.post(
        url("accounts:touchpoint_add", world, account_id=account.pk),
        {"kind": "call", "occurred_at": "nonsense", "summary": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert "This field is required" in response.content.decode()


def test_edit_account_records_owner_history_and_audit(world, client, account):
    client.force_login(world.csm)
    response = client.post(
        url("accounts:edit", world, account_id=account.pk),
        {
            "name": "Initech Global",
            "external_id": account.external_id,
            "tier": "enterprise",
            "lifecycle_stage": "mature",
            "owner": world.csm2.pk,
            "arr": "50000",
            "renewal_date": "2027-01-31",
        },
    )
    assert response.status_code == 302
    with tenant_context(world.org):
        account.refresh_from_db()
        history = list(OwnerAssignment.objects.filter(account=account))
        from csops.tenancy.models import AuditEvent

        event = AuditEvent.objects.get(action="account.update")
    assert account.name == "Initech Global" and account.owner == world.csm2
    assert history[0].previous_owner == world.csm and history[0].new_owner == world.csm2
    assert event.before["name"] == "Initech" and event.after["name"] == "Initech Global"
    assert event.actor_user == world.csm


def test_duplicate_external_id_is_a_form_error(world, client, account):
    other = AccountFactory(organization=world.org, external_id="DUP-1")
    client.force_login(world.csm)
    response = client.post(
        url("accounts:edit", world, account_id=account.pk),
        {
            "name": "X",
            "external_id": other.external_id,
            "tier": "smb",
            "lifecycle_stage": "mature",
            "arr": "1",
        },
    )
    assert response.status_code == 200
    assert "An account with this external id already exists" in response.content.decode()


def test_add_contact_primary_moves(world, client, account):
    first = ContactFactory(account=account, is_primary=True)
    client.force_login(world.csm)
    response = client.post(
        url("accounts:contact_add", world, account_id=account.pk),
        {"name": "New Champ", "email": "champ@x.example", "role": "champion", "is_primary": "on"},
    )
    assert response.status_code == 302
    with tenant_context(world.org):
        first.refresh_from_db()
        assert not first.is_primary
        assert account.contacts.get(is_primary=True).name == "New Champ"


def test_task_complete_and_snooze_in_place(world, client, account):
    task = TaskFactory(account=account, owner=world.csm, due_on=dt.date(2020, 1, 1))
    client.force_login(world.csm)
    response = client.post(url("playbooks:task_snooze", world, task_id=task.pk), {"days": "3"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Snoozed until" in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.SNOOZED and task.snoozed_until == world.org.today() + dt.timedelta(days=3)
    response = client.post(url("playbooks:task_complete", world, task_id=task.pk), HTTP_HX_REQUEST="true")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.completed_by == world.csm
    assert "<html" not in response.content.decode()


def test_snooze_into_the_past_is_refused(world, client, account):
    task = TaskFactory(account=account, owner=world.csm)
    client.force_login(world.csm)
    response = client.post(
        url("playbooks:task_snooze", world, task_id=task.pk), {"until": "2001-01-01"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422 and "future date" in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_task_created_from_account_page_dedups(world, client, account):
    client.force_login(world.csm)
    data = {"account": account.pk, "title": "Check usage", "type": "adoption", "priority": 2, "reason": "Low usage"}
    client.post(url("playbooks:task_new", world), data)
    client.post(url("playbooks:task_new", world), data)
    with tenant_context(world.org):
        assert Task.objects.filter(account=account).count() == 1
        assert Task.objects.get().owner == world.csm  # defaults to the account owner


def test_bulk_reassign_moves_accounts_history_and_open_tasks(world, client):
    accounts = AccountFactory.create_batch(3, organization=world.org, owner=world.csm)
    task = TaskFactory(account=accounts[0], owner=world.csm)
    client.force_login(world.admin)
    response = client.post(
        url("accounts:reassign", world),
        {
            "account_ids": [str(a.pk) for a in accounts[:2]],
            "new_owner": world.csm2.pk,
            "reason": "Territory",
        },
    )
    assert response.status_code == 302
    with tenant_context(world.org):
        owners = {a.pk: a.owner_id for a in Account.objects.all()}
        assert OwnerAssignment.objects.filter(reason="Territory").count() == 2
    assert owners[accounts[0].pk] == world.csm2.pk and owners[accounts[2].pk] == world.csm.pk
    task.refresh_from_db()
    assert task.owner == world.csm2


def test_reassign_whole_book(world, client):
    AccountFactory.create_batch(4, organization=world.org, owner=world.csm)
    client.force_login(world.admin)
    client.post(url("accounts:reassign", world), {"from_owner": world.csm.pk, "new_owner": world.csm2.pk})
    with tenant_context(world.org):
        assert Account.objects.filter(owner=world.csm2).count() == 4


def test_reassign_is_for_ops_admins_only(world, client):
    client.force_login(world.csm)
    assert client.get(url("accounts:reassign", world)).status_code == 403


def test_viewer_cannot_write(world, client, account):
    client.force_login(world.viewer)
    response = client.post(
        url("accounts:touchpoint_add", world, account_id=account.pk), {"kind": "call", "summary": "x"}
    )
    assert response.status_code == 403


def test_task_list_tabs(world, client, account):
    TaskFactory(account=account, owner=world.csm, title="Open one")
    TaskFactory(account=account, owner=world.csm, title="Done one", status=TaskStatus.DONE)
    client.force_login(world.csm)
    body = client.get(url("playbooks:tasks", world)).content.decode()
    assert "Open one" in body and "Done one" not in body
    body = client.get(url("playbooks:tasks", world) + "?status=closed").content.decode()
    assert "Done one" in body


def test_accounts_list_filters_by_owner(world, client):
    AccountFactory(organization=world.org, owner=world.csm, name="Csm One Account")
    AccountFactory(organization=world.org, owner=world.csm2, name="Csm Two Account")
    client.force_login(world.leader)
    body = client.get(url("accounts:list", world) + f"?owner={world.csm2.pk}").content.decode()
    assert "Csm Two Account" in body
    assert "Csm One Account" not in body


def test_ops_admin_sees_the_bulk_reassign_bar_on_the_accounts_list(world, client):
    AccountFactory(organization=world.org, owner=world.csm)
    client.force_login(world.admin)
    body = client.get(url("accounts:list", world) + "?scope=all").content.decode()
    assert "Reassign selected to" in body
    assert 'name="account_ids"' in body
