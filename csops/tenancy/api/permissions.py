from rest_framework import exceptions, permissions

from csops.tenancy.models import ApiToken
from csops.tenancy.selectors import membership_for


class IsOrgMember(permissions.BasePermission):
    """The API's one tenancy gate.

    A token of another organization, or a user who is not a member, gets 404 (not 403): the API never
    confirms that an organization exists to outsiders. Read-only tokens and viewers get 403 on writes.
    """

    def has_permission(self, request, view):
        org = getattr(request, "organization", None)
        if org is None:
            raise exceptions.NotFound()
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is not None:
            if token.organization_id != org.pk:
                raise exceptions.NotFound()
            request.membership = None
            can_write = token.can_write
        else:
            membership = membership_for(user=request.user, organization=org)
            if membership is None:
                raise exceptions.NotFound()
            request.membership = membership
            can_write = membership.can_write
        if request.method not in permissions.SAFE_METHODS and not can_write:
            raise exceptions.PermissionDenied("This token or role is read-only.")
        return True


class OpsAdminWrites(permissions.BasePermission):
    """Configuration reserved to ops admins (health models…): every member reads, only ops admins write. A token
    acts for the person who created it: it writes only if it is read-write (``IsOrgMember``, listed before this
    class, checks that) and its creator is still an active ops admin of the organization.

    On detail routes the check waits for the object (``has_object_permission``), so another organization's id
    still answers 404 before anyone learns they could not have written it."""

    message = "Only ops admins can change this."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS or getattr(view, "detail", False):
            return True
        return self._may_write(request)

    def has_object_permission(self, request, view, obj):
        return request.method in permissions.SAFE_METHODS or self._may_write(request)

    @staticmethod
    def _may_write(request) -> bool:
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is None:
            membership = getattr(request, "membership", None)
            return membership is not None and membership.is_admin
        creator = token.created_by
        membership = membership_for(user=creator, organization=request.organization) if creator else None
        return membership is not None and membership.is_admin
