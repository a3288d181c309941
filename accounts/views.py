"""Account pages: the CSM's portfolio, the accounts list, the account page and its in-place forms."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from csops.tenancy.access import org_view
from csops.tenancy.models import User
from csops.tenancy.selectors import organization_csms
from csops.tenancy.services import Actor
from health.page_selectors import account_health_context
from playbooks.forms import TaskForm
from playbooks.selectors import task_counts, task_list

from .forms import AccountFilterForm, AccountForm, ContactForm, ReassignForm, TouchpointForm
from .models import Account, Contact
from .selectors import (
    Scope,
    account_book_sizes,
    account_contacts,
    account_get,
    account_list,
    account_owner_history,
    account_timeline,
    default_scope,
    open_task_counts,
    portfolio_subject,
    portfolio_summary,
    scope_owner_ids,
)
from .services import account_create, account_update, accounts_reassign, contact_create, contact_update, touchpoint_log

PAGE_SIZE = 25


def _filtered_accounts(request, *, owner_ids, today, owners=None):
    form = AccountFilterForm(request.GET or None, owners=owners)
    data = form.cleaned_data if form.is_valid() else {}
    renewal = data.get("renewal")
    if data.get("owner"):
        owner_ids = [data["owner"]] if owner_ids is None or data["owner"] in owner_ids else []
    qs = account_list(
        owner_ids=owner_ids,
        search=(data.get("q") or "").strip(),
        tiers=[data["tier"]] if data.get("tier") else None,
        stages=[data["stage"]] if data.get("stage") else None,
        renewal_within_days=int(renewal) if renewal else None,
        today=today,
        bands=[data["band"]] if data.get("band") else None,
        sort=data.get("sort") or "name",
        descending=bool(data.get("desc")),
    )
    return form, qs, data


def _account_page(request, qs):
    """A page of accounts with their open-task counts: two queries (plus the paginator's count)."""
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    counts = open_task_counts(account_ids=[a.pk for a in rows])
    for account in rows:
        account.open_tasks = counts.get(account.pk, 0)
    page.rows = rows
    return page


def _portfolio_subject(request) -> tuple[list[int] | None, User | None, list[User]]:
    return portfolio_subject(membership=request.membership, organization=request.organization,
                             csm=request.GET.get("csm", ""))


@org_view()
def portfolio(request, org_slug):
    org = request.organization
    today = org.today()
    owner_ids, chosen, switchable = _portfolio_subject(request)
    form, qs, data = _filtered_accounts(request, owner_ids=owner_ids, today=today)
    page = _account_page(request, qs)
    context = {
        "form": form, "page": page, "sort": data.get("sort") or "name", "desc": bool(data.get("desc")),
        "today": today, "table_url": request.path, "show_owner": owner_ids is None or len(owner_ids) > 1,
        "compact_table": True,  # beside the priorities column: tier and stage go under the name
    }
    if request.htmx and request.htmx.target == "account-table":
        return render(request, "accounts/partials/_account_table.html", context)
    all_book = account_list(owner_ids=owner_ids)
    context.update({
        "summary": portfolio_summary(accounts=all_book, today=today),
        "task_counts": task_counts(owner_ids=owner_ids, today=today),
        "tasks": list(task_list(today=today, owner_ids=owner_ids, status="open")[:10]),
        "chosen_csm": chosen, "switchable": switchable,
        "subject_label": chosen.display_name if chosen else (
            "My portfolio" if owner_ids == [request.user.pk] else
            "My team's portfolio" if owner_ids is not None else "Whole organization"),
    })
    return render(request, "accounts/portfolio.html", context)


@org_view()
def account_list_view(request, org_slug):
    org, membership = request.organization, request.membership
    today = org.today()
    scope = request.GET.get("scope") or default_scope(membership)
    if scope not in (Scope.MINE, Scope.TEAM, Scope.ALL):
        scope = Scope.ALL
    owner_ids = scope_owner_ids(membership=membership, scope=scope)
    csms = organization_csms(organization=org)
    owners = list(csms) if scope != Scope.MINE else None
    form, qs, data = _filtered_accounts(request, owner_ids=owner_ids, today=today, owners=owners)
    page = _account_page(request, qs)
    context = {
        "form": form, "page": page, "sort": data.get("sort") or "name", "desc": bool(data.get("desc")),
        "today": today, "table_url": request.path, "show_owner": True, "scope": scope,
        "selectable": membership.is_admin,
    }
    if request.htmx and request.htmx.target == "account-table":
        return render(request, "accounts/partials/_account_table.html", context)
    if membership.is_admin:
        context["reassign_form"] = ReassignForm(owners=csms)
    return render(request, "accounts/list.html", context)


def _account_or_404(account_id) -> Account:
    account = account_get(account_id=account_id)
    if account is None:
        raise Http404("No such account")
    return account


def _owners(request):
    return organization_csms(organization=request.organization)


@org_view()
def account_detail(request, org_slug, account_id):
    account = _account_or_404(account_id)
    today = request.organization.today()
    timeline = account_timeline(account=account)
    return render(request, "accounts/detail.html", {
        "account": account,
        "contacts": account_contacts(account=account),
        "timeline": timeline[:30],
        "timeline_count": timeline.count(),
        "tasks": task_list(today=today, account=account, status="open"),
        "snoozed_tasks": task_list(today=today, account=account, status="snoozed"),
        "owner_history": account_owner_history(account=account)[:10],
        "touchpoint_form": TouchpointForm(),
        "contact_form": ContactForm(),
        "task_form": TaskForm(owners=_owners(request)),
        "today": today,
        # The health panel (score, 90-day chart, components, why it changed, pulse): the health app's reads.
        **account_health_context(account=account, organization=request.organization),
    })


def _apply_form_errors(form, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@org_view()
def account_new(request, org_slug):
    form = AccountForm(request.POST or None, owners=_owners(request))
    if request.method == "POST" and form.is_valid():
        try:
            account = account_create(actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            _apply_form_errors(form, exc)
        else:
            messages.success(request, f"Created {account.name}.")
            return redirect("accounts:detail", org_slug=org_slug, account_id=account.pk)
    return render(request, "accounts/form.html", {"form": form, "title": "New account"})


@org_view()
def account_edit(request, org_slug, account_id):
    account = _account_or_404(account_id)
    form = AccountForm(request.POST or None, instance=account, owners=_owners(request))
    if request.method == "POST" and form.is_valid():
        try:
            account_update(account=_account_or_404(account_id), actor=Actor.from_request(request),
                           **form.cleaned_data)
        except ValidationError as exc:
            _apply_form_errors(form, exc)
        else:
            messages.success(request, f"Saved {account.name}.")
            return redirect("accounts:detail", org_slug=org_slug, account_id=account.pk)
    return render(request, "accounts/form.html", {"form": form, "title": f"Edit {account.name}", "account": account})


@org_view()
@require_POST
def touchpoint_add(request, org_slug, account_id):
    account = _account_or_404(account_id)
    form = TouchpointForm(request.POST)
    if form.is_valid():
        touchpoint = touchpoint_log(account=account, actor=Actor.from_request(request), **form.cleaned_data)
        if request.htmx:
            return render(request, "accounts/partials/_touchpoint_logged.html", {
                "t": touchpoint, "touchpoint_form": TouchpointForm(), "account": account,
            })
        messages.success(request, "Logged.")
        return redirect("accounts:detail", org_slug=org_slug, account_id=account.pk)
    template = "accounts/partials/_touchpoint_form.html"
    return render(request, template, {"touchpoint_form": form, "account": account}, status=422 if request.htmx else 400)


@org_view()
@require_POST
def contact_add(request, org_slug, account_id):
    account = _account_or_404(account_id)
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            contact_create(actor=Actor.from_request(request), account=account, **form.cleaned_data)
        except ValidationError as exc:
            _apply_form_errors(form, exc)
        else:
            messages.success(request, f"Added {form.cleaned_data['name']}.")
            return redirect("accounts:detail", org_slug=org_slug, account_id=account.pk)
    return render(request, "accounts/contact_form.html", {"form": form, "account": account}, status=400)


@org_view()
def contact_edit(request, org_slug, account_id, contact_id):
    account = _account_or_404(account_id)
    contact = Contact.objects.filter(account=account, pk=contact_id).first()
    if contact is None:
        raise Http404("No such contact")
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        try:
            contact_update(contact=Contact.objects.get(pk=contact.pk), actor=Actor.from_request(request),
                           **form.cleaned_data)
        except ValidationError as exc:
            _apply_form_errors(form, exc)
        else:
            messages.success(request, f"Saved {contact.name}.")
            return redirect("accounts:detail", org_slug=org_slug, account_id=account.pk)
    return render(request, "accounts/contact_form.html", {"form": form, "account": account, "contact": contact})


@org_view(admin=True)
def reassign(request, org_slug):
    """Bulk owner change: the selected accounts, or every account of one owner (e.g. a CSM leaving)."""
    org = request.organization
    owners = _owners(request)
    form = ReassignForm(request.POST or None, owners=owners)
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        from_owner = request.POST.get("from_owner", "")
        if from_owner == "none":
            ids = list(account_list().filter(owner__isnull=True).values_list("id", flat=True))
        elif from_owner:
            ids = list(account_list(owner_ids=[int(from_owner)]).values_list("id", flat=True)) \
                if from_owner.isdigit() else []
        else:
            ids = request.POST.getlist("account_ids")
            try:
                ids = [str(Account._meta.pk.to_python(i)) for i in ids]
            except ValidationError:
                ids = []
        if not ids:
            messages.error(request, "Select at least one account to reassign.")
        else:
            moved = accounts_reassign(account_ids=ids, new_owner=form.cleaned_data["new_owner"], actor=actor,
                                      reason=form.cleaned_data["reason"])
            target = form.cleaned_data["new_owner"]
            to = target.display_name if target else "nobody (unassigned)"
            messages.success(request, f"Reassigned {moved} account{'s' if moved != 1 else ''} to {to}; "
                                      "their open tasks moved too.")
        next_url = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            return redirect(next_url)
        return redirect("accounts:reassign", org_slug=org.slug)
    book_sizes = account_book_sizes(owners=owners)
    return render(request, "accounts/reassign.html", {"form": form, "owners": book_sizes, "today": org.today()})
