import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .access import org_view
from .forms import ApiTokenForm, InviteForm, MembershipForm, TeamForm
from .models import ApiToken, Membership, Role, Team
from .selectors import audit_events, memberships_of_user, organization_members, organization_tokens
from .services import Actor, api_token_create, api_token_revoke, membership_invite, membership_update, team_create


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request):
    """Land on the last organization used, else the only one, else a chooser."""
    memberships = list(memberships_of_user(user=request.user))
    last = request.session.get("last_org")
    chosen = next((m for m in memberships if m.organization.slug == last), None)
    if chosen is None and len(memberships) == 1:
        chosen = memberships[0]
    if chosen is not None:
        return redirect("accounts:portfolio", org_slug=chosen.organization.slug)
    return render(request, "tenancy/choose_org.html", {"memberships": memberships})


def _teams(org):
    return Team.objects.select_related("manager").all()


@org_view(admin=True)
def members(request, org_slug):
    org = request.organization
    form = InviteForm(request.POST or None, teams=_teams(org))
    if request.method == "POST" and form.is_valid():
        membership_invite(
            organization=org, actor=Actor.from_request(request), request=request,
            email=form.cleaned_data["email"], full_name=form.cleaned_data["full_name"],
            role=form.cleaned_data["role"], team=form.cleaned_data["team"],
        )
        messages.success(request, f"Invited {form.cleaned_data['email']}. They will get an email to set a password.")
        return redirect("tenancy:members", org_slug=org.slug)
    page = Paginator(organization_members(organization=org), 50).get_page(request.GET.get("page"))
    return render(request, "tenancy/members.html", {
        "page": page, "form": form, "teams": _teams(org), "team_form": TeamForm(managers=_managers(org)),
    })


def _managers(org):
    from .models import User

    return User.objects.filter(memberships__organization=org, memberships__role__in=[Role.MANAGER, Role.LEADER])


def _member_or_404(org, membership_id):
    membership = Membership.objects.select_related("user", "team").filter(organization=org, pk=membership_id).first()
    if membership is None:
        raise Http404
    return membership


@org_view(admin=True)
def member_edit(request, org_slug, membership_id):
    org = request.organization
    membership = _member_or_404(org, membership_id)
    initial = {"role": membership.role, "team": membership.team, "is_active": membership.is_active}
    form = MembershipForm(request.POST or None, initial=initial, teams=_teams(org))
    if request.method == "POST" and form.is_valid():
        if membership.user_id == request.user.id and form.cleaned_data["role"] != Role.OPS_ADMIN:
            form.add_error("role", "You cannot remove your own ops admin role.")
        else:
            membership_update(
                membership=membership, actor=Actor.from_request(request), role=form.cleaned_data["role"],
                team=form.cleaned_data["team"], is_active=form.cleaned_data["is_active"],
            )
            messages.success(request, f"Updated {membership.user}.")
            return redirect("tenancy:members", org_slug=org.slug)
    return render(request, "tenancy/member_edit.html", {"form": form, "member": membership})


@org_view(admin=True)
@require_POST
def team_add(request, org_slug):
    org = request.organization
    form = TeamForm(request.POST, managers=_managers(org))
    if form.is_valid():
        if Team.objects.filter(name=form.cleaned_data["name"]).exists():
            messages.error(request, f"A team named {form.cleaned_data['name']} already exists.")
        else:
            team_create(organization=org, actor=Actor.from_request(request), **form.cleaned_data)
            messages.success(request, f"Created team {form.cleaned_data['name']}.")
    else:
        messages.error(request, "Give the team a name.")
    return redirect("tenancy:members", org_slug=org.slug)


@org_view(admin=True)
def tokens(request, org_slug):
    org = request.organization
    form = ApiTokenForm(request.POST or None)
    new_token_value = None
    if request.method == "POST" and form.is_valid():
        expires_on = form.cleaned_data["expires_on"]
        expires_at = (
            dt.datetime.combine(expires_on, dt.time.min, tzinfo=org.tzinfo) if expires_on else None
        )
        token, new_token_value = api_token_create(
            organization=org, actor=Actor.from_request(request), name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"], expires_at=expires_at,
        )
        messages.success(request, f"Created token {token.name}. Copy it now: it will not be shown again.")
        form = ApiTokenForm()
    return render(request, "tenancy/tokens.html", {
        "tokens": organization_tokens(organization=org), "form": form, "new_token_value": new_token_value,
    })


@org_view(admin=True)
@require_POST
def token_revoke(request, org_slug, token_id):
    token = ApiToken.objects.filter(organization=request.organization, pk=token_id).first()
    if token is None:
        raise Http404
    api_token_revoke(token=token, actor=Actor.from_request(request))
    messages.success(request, f"Revoked {token.name}. Requests using it now get 401.")
    return redirect("tenancy:tokens", org_slug=org_slug)


@org_view(admin=True)
def audit_log(request, org_slug):
    page = Paginator(audit_events(), 50).get_page(request.GET.get("page"))
    return render(request, "tenancy/audit_log.html", {"page": page, "now": timezone.now()})
