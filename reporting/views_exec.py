"""The Friday executive update page: draft (pre-filled with the week's numbers), preview, schedule."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render

from csops.tenancy.access import org_view
from csops.tenancy.models import Membership, Role
from csops.tenancy.services import Actor

from .forms import ExecUpdateForm
from .models import ExecUpdate, ExecUpdateStatus
from .services.exec_update import (
    EXEC_SEND_HOUR,
    SECTIONS,
    exec_update_for_week,
    exec_update_save,
    exec_update_schedule,
    exec_update_unschedule,
    render_exec_update,
    week_numbers,
)


def _members(organization):
    return (Membership.objects.filter(organization=organization, is_active=True,
                                      role__in=[Role.LEADER, Role.MANAGER, Role.OPS_ADMIN])
            .select_related("user").order_by("role", "user__full_name", "user__email"))


@org_view(admin=True)
def exec_update_edit(request, org_slug):
    org, actor, today = request.organization, Actor.from_request(request), request.organization.today()
    update = exec_update_for_week(organization=org, today=today, actor=actor)
    members = list(_members(org))
    initial = {**{name: getattr(update, name) for name in SECTIONS}, "recipient_ids": update.recipient_ids,
               "extra_emails": "\n".join(update.extra_emails)}
    form = ExecUpdateForm(request.POST or None, initial=initial, members=members)
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "unschedule":
                exec_update_unschedule(update=update, actor=actor)
                messages.info(request, "Unscheduled: the update is a draft again.")
                return redirect("reporting:exec_update", org_slug=org_slug)
            if form.is_valid():
                data = form.cleaned_data
                exec_update_save(update=update, actor=actor, **data)
                if action == "schedule":
                    exec_update_schedule(update=update, actor=actor, today=today)
                    count = len(update.recipient_ids) + len(update.extra_emails)
                    messages.success(request, f"Scheduled: it goes to {count} recipient(s) on Friday from "
                                              f"{EXEC_SEND_HOUR}:00 ({org.timezone}).")
                else:
                    messages.success(request, "Draft saved.")
                return redirect("reporting:exec_update", org_slug=org_slug)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc)
    numbers = update.numbers if update.status != ExecUpdateStatus.DRAFT else week_numbers(organization=org, day=today)
    past = ExecUpdate.objects.exclude(pk=update.pk).order_by("-period")[:12]
    return render(request, "reporting/exec_update.html", {
        "update": update, "form": form, "numbers": numbers, "past": past, "send_hour": EXEC_SEND_HOUR,
        "locked": update.status == ExecUpdateStatus.SENT,
    })


@org_view(admin=True)
def exec_update_preview(request, org_slug, exec_update_id):
    update = ExecUpdate.objects.filter(pk=exec_update_id).select_related("author").first()
    if update is None:
        raise Http404("No such update")
    if update.status == ExecUpdateStatus.DRAFT:
        update.numbers = week_numbers(organization=request.organization, day=request.organization.today())
    draft = render_exec_update(update=update, to_email=request.user.email, recipient_id=request.user.pk)
    return render(request, "reporting/exec_update_preview.html", {"update": update, "draft": draft})
