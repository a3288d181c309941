"""Display helpers of the executive dashboard: drill-down links, NPS changes, ratios against targets."""
from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def drill(context, kind, band=""):
    """The drill-down behind a number of the scope on screen."""
    params = {"scope": context["scope"], "key": context["key"], "kind": kind}
    if band:
        params["band"] = band
    return context["drill_base"] + "?" + urlencode(params)


@register.simple_tag(takes_context=True)
def csm_drill(context, user_key, kind, band=""):
    params = {"scope": "csm", "key": user_key, "kind": kind}
    if band:
        params["band"] = band
    return context["drill_base"] + "?" + urlencode(params)


@register.simple_tag
def nps_delta(delta):
    """The NPS change against the previous 180 days, in points."""
    if delta is None:
        return mark_safe('<span class="delta muted">no prior data</span>')  # noqa: S308 -- constant markup
    if abs(delta) < 0.05:
        return mark_safe('<span class="delta muted">= vs previous</span>')  # noqa: S308 -- constant markup
    return format_html('<span class="delta {}">{} {} pts vs previous 180 days</span>', "up" if delta > 0 else "down",
                       "▲" if delta > 0 else "▼", f"{abs(delta):.1f}")


@register.filter
def ratio_pct(value, places=0):
    """A ratio (0.93) as a percentage ("93%"); None → "—"."""
    if value in (None, ""):
        return "—"
    return f"{Decimal(str(value)) * 100:.{int(places)}f}%"


@register.filter
def at_least(value, target) -> bool:
    return value not in (None, "") and Decimal(str(value)) >= Decimal(str(target))
