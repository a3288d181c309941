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
