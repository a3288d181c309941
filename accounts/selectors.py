"""Reads of customer accounts. Every function runs inside the tenant context (the manager scopes it)."""
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum

from csops.tenancy.models import Membership, Role, User
from csops.tenancy.selectors import organization_csms, team_member_user_ids

from .models import Account, Contact, HealthBand, OwnerAssignment, Touchpoint

# Sort keys the UI and API accept, mapped to indexed columns (nulls last so empty dates sink).
ACCOUNT_SORTS = {
    "name": ("name",),
    "arr": ("arr", "name"),
    "renewal": ("renewal_date", "name"),
    "touch": ("last_touchpoint_at", "name"),
    "tier": ("tier", "name"),
    "stage": ("lifecycle_stage", "name"),
    "health": ("health_score", "name"),  # worst first when ascending; unscored accounts sink either way
}


class Scope:
    MINE = "mine"
    TEAM = "team"
    ALL = "all"


def default_scope(membership: Membership) -> str:
    if membership.role == Role.CSM:
        return Scope.MINE
    if membership.role == Role.MANAGER:
        return Scope.TEAM
    return Scope.ALL


def portfolio_subject(
    *, membership: Membership, organization, csm: str = ""
) -> tuple[list[int] | None, User | None, list[User]]:
    """Whose portfolio the page shows: (owner ids or None for all, the chosen CSM, CSMs one may switch to).

    A CSM sees their own book; a manager their team's and any of their CSMs'; leaders, ops admins and
    viewers the whole organization's and any CSM's."""
    if membership.role == Role.CSM:
        return [membership.user_id], None, []
    if membership.role == Role.MANAGER:
        team_ids = team_member_user_ids(membership=membership)
        switchable = list(User.objects.filter(pk__in=team_ids).order_by("full_name", "email"))
    else:
        team_ids = None
        switchable = list(organization_csms(organization=organization))
    chosen = next((u for u in switchable if str(u.pk) == csm), None)
    if chosen is not None:
        return [chosen.pk], chosen, switchable
    return team_ids, None, switchable


def scope_owner_ids(*, membership: Membership | None, scope: str) -> list[int] | None:
    """Owner ids a list scope covers, or None for the whole organization."""
    if membership is None or scope == Scope.ALL:
        return None
    if scope == Scope.TEAM:
        return team_member_user_ids(membership=membership)
    return [membership.user_id]


def account_list(
    *,
    owner_ids: list[int] | None = None,
    search: str = "",
    tiers: list[str] | None = None,
    stages: list[str] | None = None,
    region: str = "",
    renewal_within_days: int | None = None,
    today: dt.date | None = None,
    bands: list[str] | None = None,
    sort: str = "name",
    descending: bool = False,
) -> QuerySet[Account]:
    """Accounts for list pages. Every member may read every account of their organization; `owner_ids`
    narrows the list to a book of business (a CSM's own, a manager's team)."""
    qs = Account.objects.select_related("owner")
    if owner_ids is not None:
        qs = qs.filter(owner_id__in=owner_ids)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(domain__icontains=search) | Q(external_id=search))
    if tiers:
        qs = qs.filter(tier__in=tiers)
    if stages:
        qs = qs.filter(lifecycle_stage__in=stages)
    if region:
        qs = qs.filter(region=region)
    if renewal_within_days is not None and today is not None:
        qs = qs.filter(renewal_date__gte=today, renewal_date__lte=today + dt.timedelta(days=renewal_within_days))
    if bands:
        qs = qs.filter(health_band__in=bands)
    fields = ACCOUNT_SORTS.get(sort, ACCOUNT_SORTS["name"])
    return qs.order_by(_ordering(fields[0], descending), *fields[1:], "id")


def _ordering(field: str, descending: bool):
    """Empty dates sink to the bottom either way; non-null columns keep plain ASC/DESC so PostgreSQL can
    walk their (organization, column) index backwards instead of sorting the whole tenant."""
    if Account._meta.get_field(field).null:
        return F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return F(field).desc() if descending else F(field).asc()


@dataclass(frozen=True)
class PortfolioSummary:
    accounts: int
    arr: Decimal
    renewals_90d: int
    renewals_90d_arr: Decimal
    healthy: int = 0
    stable: int = 0
    at_risk: int = 0
    unscored: int = 0


def portfolio_summary(*, accounts: QuerySet[Account], today: dt.date) -> PortfolioSummary:
    """One aggregate query over the (already filtered) account set."""
    horizon = today + dt.timedelta(days=90)
    renewing = Q(renewal_date__gte=today, renewal_date__lte=horizon)
    agg = accounts.order_by().aggregate(
        n_accounts=Count("id"),
        total_arr=Sum("arr"),
        n_renewals=Count("id", filter=renewing),
        renewals_total_arr=Sum("arr", filter=renewing),
        **{f"band_{band}": Count("id", filter=Q(health_band=band)) for band in HealthBand.values},
    )
    return PortfolioSummary(
        accounts=agg["n_accounts"] or 0,
        arr=agg["total_arr"] or Decimal("0"),
        renewals_90d=agg["n_renewals"] or 0,
        renewals_90d_arr=agg["renewals_total_arr"] or Decimal("0"),
        healthy=agg["band_healthy"], stable=agg["band_stable"], at_risk=agg["band_at_risk"],
        unscored=agg["band_unknown"],
    )


def open_task_counts(*, account_ids: list) -> dict:
    """Open/snoozed task counts for a page of accounts, in one query."""
    from playbooks.selectors import active_task_counts_by_account

    return active_task_counts_by_account(account_ids=account_ids)


def account_get(*, account_id) -> Account | None:
    return Account.objects.select_related("owner").filter(pk=account_id).first()


def account_by_external_ids(*, external_ids: list[str]) -> dict[str, Account]:
    return {a.external_id: a for a in Account.objects.filter(external_id__in=external_ids)}


def account_contacts(*, account: Account) -> QuerySet[Contact]:
    return Contact.objects.filter(account=account)


def account_timeline(*, account: Account) -> QuerySet[Touchpoint]:
    return Touchpoint.objects.select_related("author").filter(account=account)


def account_owner_history(*, account: Account) -> QuerySet[OwnerAssignment]:
    return OwnerAssignment.objects.select_related("previous_owner", "new_owner", "changed_by").filter(account=account)


def account_regions() -> list[str]:
    return list(Account.objects.exclude(region="").order_by("region").values_list("region", flat=True).distinct())


def account_book_sizes(*, owners) -> dict:
    """Accounts and ARR per owner (one grouped query), for the reassignment page."""
    grouped = Account.objects.values("owner_id").annotate(n=Count("id"), book_arr=Sum("arr")).order_by()
    rows = {r["owner_id"]: r for r in grouped}
    people = [
        {"user": u, "n": rows.get(u.pk, {}).get("n", 0), "arr": rows.get(u.pk, {}).get("book_arr") or 0} for u in owners
    ]
    unassigned = rows.get(None)
    return {"people": people, "unassigned": unassigned["n"] if unassigned else 0}


def contact_list() -> QuerySet[Contact]:
    """Every contact of the organization (API lists filter and order it further)."""
    return Contact.objects.all()


def touchpoint_list() -> QuerySet[Touchpoint]:
    """Every touchpoint of the organization, with its author (API lists filter and order it further)."""
    return Touchpoint.objects.select_related("author")
