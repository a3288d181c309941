"""Task pages. Row actions (complete, snooze, reopen, reassign) answer htmx with the re-rendered row."""
import datetime as dt
import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.selectors import Scope, account_get, default_scope, scope_owner_ids
from csops.tenancy.access import org_view
from csops.tenancy.selectors import organization_csms
from csops.tenancy.services import Actor

from .forms import SnoozeForm, TaskForm
from .models import TaskType
from .selectors import task_counts, task_get, task_list
from .services import task_complete, task_create, task_reassign, task_reopen, task_snooze

STATUS_TABS = [("open", "Open"), ("snoozed", "Snoozed"), ("closed", "Done & cancelled")]


@org_view()
def task_list_view(request, org_slug):
    org, membership = request.organization, request.membership
    today = org.today()
    scope = request.GET.get("scope") or default_scope(membership)
    if scope not in (Scope.MINE, Scope.TEAM, Scope.ALL):
        scope = Scope.MINE
    status = request.GET.get("status") if request.GET.get("status") in dict(STATUS_TABS) else "open"
    owner_ids = scope_owner_ids(membership=membership, scope=scope)
    task_type = request.GET.get("type") if request.GET.get("type") in TaskType.values else ""
    tasks = task_list(today=today, owner_ids=owner_ids, status=status, overdue_only=request.GET.get("overdue") == "1",
                      task_type=task_type)
    page = Paginator(tasks, 50).get_page(request.GET.get("page"))
    return render(request, "playbooks/tasks.html", {
        "page": page, "scope": scope, "status": status, "status_tabs": STATUS_TABS, "today": today,
        "counts": task_counts(owner_ids=owner_ids, today=today), "task_types": TaskType.choices,
        "task_type": task_type, "overdue": request.GET.get("overdue") == "1",
        "owners": organization_csms(organization=org),
    })


@org_view()
@require_POST
def task_new(request, org_slug):
    account = account_get(account_id=request.POST.get("account")) if _is_uuid(request.POST.get("account")) else None
    if account is None:
        raise Http404("No such account")
    form = TaskForm(request.POST, owners=organization_csms(organization=request.organization))
    if form.is_valid():
        data = form.cleaned_data
        try:
            task, created = task_create(account=account, actor=Actor.from_request(request), **data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if created:
                messages.success(request, f"Task created: {task.title}.")
            else:
                messages.info(request, f"An open task for this reason already exists: {task.title}.")
    else:
        errors = "; ".join(f"{form.fields[f].label or f}: {' '.join(e)}" if f in form.fields else " ".join(e)
                           for f, e in form.errors.items())
        messages.error(request, f"Task not created. {errors}")
    return redirect("accounts:detail", org_slug=org_slug, account_id=account.pk)


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _task_or_404(task_id):
    task = task_get(task_id=task_id)
    if task is None:
        raise Http404("No such task")
    return task


def _row(request, task, *, flash: str = ""):
    """Answer a row action: the re-rendered row for htmx, else back to where the user was."""
    today = request.organization.today()
    if request.htmx:
        return render(request, "playbooks/partials/_task_row.html", {
            "task": task, "today": today, "flash": flash, "compact": request.POST.get("compact") == "1",
            "owners": organization_csms(organization=request.organization),
        })
    if flash:
        messages.success(request, flash)
    referer = request.META.get("HTTP_REFERER", "")
    if url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        return redirect(referer)
    return redirect("playbooks:tasks", org_slug=request.organization.slug)


@org_view()
@require_POST
def task_complete_view(request, org_slug, task_id):
    task = task_complete(task=_task_or_404(task_id), actor=Actor.from_request(request))
    return _row(request, task, flash="Done.")


@org_view()
@require_POST
def task_snooze_view(request, org_slug, task_id):
    task = _task_or_404(task_id)
    today = request.organization.today()
    data = request.POST.copy()
    if data.get("days"):
        try:
            data["until"] = (today + dt.timedelta(days=max(1, min(int(data["days"]), 365)))).isoformat()
        except ValueError:
            data["until"] = ""
    form = SnoozeForm(data, today=today)
    if not form.is_valid():
        return render(request, "playbooks/partials/_task_row.html", {
            "task": task, "today": today, "error": " ".join(form.errors.get("until", ["Pick a date."])),
            "owners": organization_csms(organization=request.organization),
        }, status=422 if request.htmx else 400)
    task = task_snooze(task=task, until=form.cleaned_data["until"], actor=Actor.from_request(request))
    return _row(request, task, flash=f"Snoozed until {task.snoozed_until:%a %d %b}.")


@org_view()
@require_POST
def task_reopen_view(request, org_slug, task_id):
    task = _task_or_404(task_id)
    try:
        task = task_reopen(task=task, actor=Actor.from_request(request))
    except ValueError as exc:
        return _row(request, task, flash=str(exc))
    return _row(request, task, flash="Reopened.")


@org_view()
@require_POST
def task_reassign_view(request, org_slug, task_id):
    task = _task_or_404(task_id)
    owner_id = request.POST.get("owner", "")
    owner = None
    if owner_id:
        owner = organization_csms(organization=request.organization).filter(pk=owner_id).first() \
            if owner_id.isdigit() else None
        if owner is None:
            return render(request, "playbooks/partials/_task_row.html", {
                "task": task, "today": request.organization.today(), "error": "Pick a member of this organization.",
                "owners": organization_csms(organization=request.organization),
            }, status=422 if request.htmx else 400)
    task = task_reassign(task=task, owner=owner, actor=Actor.from_request(request))
    return _row(request, task, flash=f"Assigned to {owner.display_name if owner else 'nobody'}.")

