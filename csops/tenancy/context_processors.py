from .selectors import memberships_of_user


def tenancy(request):
    """Navigation context: the current org and membership, and the user's other orgs for the switcher."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path_info.startswith("/api/"):
        return {}
    return {
        "organization": getattr(request, "organization", None),
        "membership": getattr(request, "membership", None),
        "my_memberships": memberships_of_user(user=user),
    }
