"""The header bell: ``{% unread_notification_count as n %}`` — one COUNT query, only on organization pages."""
from django import template

from ..alert_selectors import unread_notification_count

register = template.Library()


@register.simple_tag(takes_context=True, name="unread_notification_count")
def unread_notification_count_tag(context) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    if getattr(request, "organization", None) is None or user is None or not user.is_authenticated:
        return 0
    return unread_notification_count(user=user)
