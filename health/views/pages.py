"""Health pages: the overview for managers and leaders, and the CSM pulse recorded from the account page."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import Scope, account_get, default_scope, scope_owner_ids
from csops.tenancy.access import org_view
from csops.tenancy.models import Role
from csops.tenancy.services import Actor

from ..forms import PulseForm
from ..page_selectors import COVERAGE_TARGET, FRESHNESS_TARGET, account_health_context, health_overview
from ..services.pulses import pulse_record


def _overview_scope(request) -> str:
    scope = request.GET.get("scope") or default_scope(request.membership)
    allowed = [Scope.MINE, Scope.ALL] + ([Scope.TEAM] if request.membership.role == Role.MANAGER else [])
    return scope if scope in allowed else default_scope(request.membership)


@org_view()
def overview(request, org_slug):
    """Distribution by band (count and ARR), this week's biggest movers, coverage and freshness."""
    scope = _overview_scope(request)
    owner_ids = scope_owner_ids(membership=request.membership, scope=scope)
    page = health_overview(organization=request.organization, owner_ids=owner_ids)
    return render(request, "health/overview.html", {
        "page": page, "scope": scope, "coverage_target": COVERAGE_TARGET,
        "freshness_target_hours": int(FRESHNESS_TARGET.total_seconds() // 3600),
    })


@org_view()
@require_POST
def pulse_record_view(request, org_slug, account_id):
    """Record a pulse; answers the re-rendered health panel (htmx) or redirects to the account page."""
    account = account_get(account_id=account_id)
    if account is None:
        raise Http404("No such account")
    form = PulseForm(request.POST)
    ok = False
    if form.is_valid():
        try:
            pulse_record(account=account, actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            ok = True
            if not request.htmx:
                messages.success(request, "Pulse recorded; the health score is being updated.")
                return redirect("accounts:detail", org_slug=org_slug, account_id=account.pk)
            form = None
            account = account_get(account_id=account_id)  # the recompute may have moved its score
    if not request.htmx and not ok:  # no-JS fallback: say what was wrong on the account page
        messages.error(request, "The pulse was not recorded: " + " ".join(
            str(e) for errors in form.errors.values() for e in errors))
        return redirect("accounts:detail", org_slug=org_slug, account_id=account.pk)
    context = account_health_context(account=account, organization=request.organization, pulse_form=form)
    context["pulse_saved"] = ok
    # Form errors answer 200 too: htmx swaps only 2xx responses, and the errors are in the re-rendered panel.
    return render(request, "health/partials/_account_health.html", context)
