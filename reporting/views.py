"""Email pages: the outbox (ops admins see what was sent to whom and read it), the preview of one's weekly
email, email preferences (opt-out), and the company updates that go into the Monday CSM email."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import portfolio_subject
from csops.tenancy.access import org_view
from csops.tenancy.models import Membership, Role
from csops.tenancy.services import Actor

from . import selectors
from .digests import csm_recipients
from .forms import CompanyUpdateForm
from .models import EmailKind, OutboxStatus
from .priorities import todays_priorities
from .services.outbox import outbox_retry
from .services.preferences import company_update_create, company_update_delete, email_preferences_set
from .services.weekly import iso_period, weekly_csm_preview, weekly_leader_preview

PER_PAGE = 50


@org_view(admin=True)
def outbox(request, org_slug):
    kind, status, period = (request.GET.get(k, "") for k in ("kind", "status", "period"))
    qs = selectors.outbox_list(kind=kind, status=status, period=period).select_related("recipient")
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "reporting/outbox.html", {
        "page": page, "kind": kind, "status": status, "period": period, "kinds": EmailKind.choices,
        "statuses": OutboxStatus.choices, "periods": selectors.outbox_periods(),
    })


def _message_or_404(message_id):
    message = selectors.outbox_message_get(message_id=message_id)
    if message is None:
        raise Http404("No such message")
    return message


@org_view(admin=True)
def outbox_message(request, org_slug, message_id):
    return render(request, "reporting/outbox_message.html", {"message": _message_or_404(message_id)})


@org_view(admin=True)
@require_POST
def outbox_message_retry(request, org_slug, message_id):
    message = outbox_retry(message=_message_or_404(message_id))
    if message.status == OutboxStatus.PENDING:
        messages.success(request, f"The email to {message.to_email} will go out with the next dispatch.")
    else:
        messages.info(request, f"Only failed emails can be retried; this one is {message.get_status_display()}.")
    return redirect("reporting:outbox_message", org_slug=org_slug, message_id=message.pk)


def _previewable_csms(request) -> list[Membership]:
    """Whose weekly email this member may preview: their own (CSMs), their team's (managers), anyone's
    (leaders and ops admins)."""
    membership = request.membership
    csms = csm_recipients(organization=request.organization)
    if membership.role in (Role.LEADER, Role.OPS_ADMIN):
        return csms
    if membership.role == Role.MANAGER and membership.team_id:
        return [m for m in csms if m.team_id == membership.team_id]
    return [m for m in csms if m.user_id == request.user.pk]


def _previewable_leaders(request) -> list[Membership]:
    """Whose leader email this member may preview: their own (managers), anyone's (leaders, ops admins)."""
    membership = request.membership
    leaders = list(Membership.objects.filter(organization=request.organization, is_active=True,
                                             role__in=[Role.LEADER, Role.MANAGER]).select_related("user")
                   .order_by("user__full_name", "user__email"))
    if membership.role in (Role.LEADER, Role.OPS_ADMIN):
        return leaders
    return [m for m in leaders if m.user_id == request.user.pk]


@org_view()
def email_preview(request, org_slug):
    csms, leaders = _previewable_csms(request), _previewable_leaders(request)
    default_kind = EmailKind.WEEKLY_LEADER if request.membership.role in (Role.LEADER, Role.MANAGER) else (
        EmailKind.WEEKLY_CSM)
    kind = request.GET.get("kind") or default_kind
    if kind not in (EmailKind.WEEKLY_CSM, EmailKind.WEEKLY_LEADER):
        raise Http404("No such email")
    choices = csms if kind == EmailKind.WEEKLY_CSM else leaders
    allowed = {m.user_id: m for m in choices}
    # Without a choice: your own email if you get this one, else the first recipient's (an ops admin opening
    # the page sees a real email at once, not an empty box).
    fallback = request.user.pk if request.user.pk in allowed else (choices[0].user_id if choices else 0)
    try:
        chosen = int(request.GET.get("user") or fallback)
    except ValueError:
        chosen = 0
    if request.GET.get("user") and chosen not in allowed:
        raise Http404("No such recipient")
    org, today = request.organization, request.organization.today()
    preview = weekly_csm_preview if kind == EmailKind.WEEKLY_CSM else weekly_leader_preview
    draft = preview(organization=org, user_id=chosen, today=today) if chosen else None
    return render(request, "reporting/email_preview.html", {
        "choices": choices, "chosen": chosen, "draft": draft, "period": iso_period(today), "kind": kind,
        "kinds": [(k, label) for k, label in EmailKind.choices
                  if (k == EmailKind.WEEKLY_CSM and csms) or (k == EmailKind.WEEKLY_LEADER and leaders)],
        "kind_label": EmailKind(kind).label,
    })


@org_view()
def email_preferences(request, org_slug):
    if request.method == "POST":
        receive = set(request.POST.getlist("receive")) & set(EmailKind.values)
        email_preferences_set(user=request.user, receive=receive)
        messages.success(request, "Email preferences saved.")
        return redirect("reporting:email_preferences", org_slug=org_slug)
    opted_out = selectors.opted_out_kinds(user=request.user)
    kinds = [(value, label, value not in opted_out) for value, label in EmailKind.choices]
    return render(request, "reporting/email_preferences.html", {"kinds": kinds})


@org_view()
def company_updates(request, org_slug):
    form = CompanyUpdateForm(request.POST or None)
    if request.method == "POST":
        if not request.membership.is_admin:
            raise PermissionDenied("Only ops admins write company updates.")
        if form.is_valid():
            try:
                company_update_create(actor=Actor.from_request(request), **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, "Update added: it goes out with the next Monday email.")
                return redirect("reporting:company_updates", org_slug=org_slug)
    page = Paginator(selectors.company_update_list(), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "reporting/company_updates.html", {"form": form, "page": page})


@org_view(admin=True)
@require_POST
def company_update_remove(request, org_slug, update_id):
    update = selectors.company_update_get(update_id=update_id)
    if update is None:
        raise Http404("No such update")
    company_update_delete(actor=Actor.from_request(request), update=update)
    messages.success(request, f"Removed “{update.title}”.")
    return redirect("reporting:company_updates", org_slug=org_slug)


@org_view()
def priorities_panel(request, org_slug):
    """Today's priorities for the portfolio page's subject (same ``csm`` switch), loaded by htmx."""
    owner_ids, _chosen, _switchable = portfolio_subject(
        membership=request.membership, organization=request.organization, csm=request.GET.get("csm", "")
    )
    org = request.organization
    priorities = todays_priorities(owner_ids=owner_ids, today=org.today(), tz=org.tzinfo)
    return render(request, "reporting/partials/_priorities.html", {"priorities": priorities})
