from django.http import Http404
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from .context import tenant_context
from .selectors import membership_for, organization_by_slug


class TenantMiddleware:
    """The one org resolver: `/o/<org_slug>/…` and `/api/v1/orgs/<org_slug>/…` → request.organization.

    UI routes also get request.membership here: anonymous users go to login, non-members get 404 (never
    403, never a hint that the organization exists). API routes authenticate inside DRF, so the scoped
    API base view checks the token's or user's membership itself. The whole response, including lazily
    rendered templates, is produced inside the tenant context.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        slug = match.kwargs.get("org_slug")
        if slug is None:
            return self.get_response(request)

        org = organization_by_slug(slug)
        is_api = request.path_info.startswith("/api/")
        if not is_api:
            if not request.user.is_authenticated:
                return redirect(f"/accounts/login/?next={request.get_full_path()}")
            membership = membership_for(user=request.user, organization=org) if org else None
            if membership is None:
                raise Http404("No such organization")
            request.membership = membership
            request.session["last_org"] = org.slug
        elif org is None:
            raise Http404("No such organization")
        request.organization = org
        with tenant_context(org):
            return self.get_response(request)
