from django.db.models import QuerySet

from .models import ApiToken, AuditEvent, Membership, Organization, Role, Team, User


def organization_by_slug(slug: str) -> Organization | None:
    return Organization.objects.filter(slug=slug).first()


def membership_for(*, user: User, organization: Organization) -> Membership | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.select_related("team", "organization")
        .filter(user=user, organization=organization, is_active=True)
        .first()
    )


def memberships_of_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.select_related("organization").filter(user=user, is_active=True)


def organization_members(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("user", "team")
        .filter(organization=organization)
        .order_by("user__full_name", "user__email")
    )


def organization_csms(*, organization: Organization) -> QuerySet[User]:
    """People who can own accounts: active CSMs and managers (managers often carry a book too)."""
    return User.objects.filter(
        memberships__organization=organization,
        memberships__is_active=True,
        memberships__role__in=[Role.CSM, Role.MANAGER],
    ).order_by("full_name", "email")


def team_member_user_ids(*, membership: Membership) -> list[int]:
    """Users whose portfolios a manager sees: members of the teams they manage, plus themselves."""
    team_ids = list(Team.objects.filter(manager_id=membership.user_id).values_list("id", flat=True))
    if membership.team_id:
        team_ids.append(membership.team_id)
    ids = set(
        Membership.objects.filter(
            organization_id=membership.organization_id, team_id__in=team_ids, is_active=True
        ).values_list("user_id", flat=True)
    )
    ids.add(membership.user_id)
    return sorted(ids)


def organization_tokens(*, organization: Organization) -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("created_by").filter(organization=organization)


def audit_events(*, object_type: str | None = None, object_id: str | None = None) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.select_related("actor_user", "actor_token")
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=str(object_id))
    return qs
