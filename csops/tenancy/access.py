"""UI permission checks, in one place. The middleware already guarantees request.membership on /o/<slug>/."""
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def org_view(*, admin: bool = False):
    """Decorate every org UI view. Non-members never get here (404 in the middleware); viewers and
    read-only roles get 403 on any write method; `admin=True` pages are for ops admins only."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            membership = getattr(request, "membership", None)
            if membership is None:
                raise Http404("No such organization")
            if request.method not in SAFE_METHODS and not membership.can_write:
                raise PermissionDenied("Your role is read-only.")
            if admin and not membership.is_admin:
                raise PermissionDenied("Only ops admins can open this page.")
            return view(request, *args, **kwargs)

        wrapper.org_view = True
        wrapper.org_view_admin = admin
        return wrapper

    return decorator
