"""Tool adoption's input: which members used the product on which (local) day.

Runs after the tenant middleware, inside the tenant context. The first request of a member in an organization
on a local day notes it in the cache (no database query, so pages keep their query budgets); the session
remembers the day, so later requests that day do nothing at all. The daily dashboard refresh stores the notes
as ``UserActivityDay`` rows (reporting/aggregates.py, ``user_activity_flush``). Without Redis the cache is the
process's memory: the embedded single-process default keeps it; production shares Redis."""
from .aggregates import user_activity_note

SESSION_KEY = "activity_seen"


class UserActivityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = getattr(request, "membership", None)
        if membership is not None and hasattr(request, "session"):
            org = request.organization
            today = org.today().isoformat()
            seen = request.session.get(SESSION_KEY) or {}
            if seen.get(str(org.pk)) != today:
                user_activity_note(organization=org, user_id=membership.user_id, day=org.today())
                request.session[SESSION_KEY] = {**seen, str(org.pk): today}
        return self.get_response(request)
