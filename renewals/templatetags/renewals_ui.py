"""Display helpers of the renewals pages: rates as percentages, changes in points, drill-down links."""
from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

register = template.Library()

FILTER_KEYS = ("tier", "region", "owner", "team")


@register.filter
def pct(rate, places=1):
    """A Decimal fraction as a percentage: 0.912345 → "91.2%"; None → "—"."""
    if rate is None or rate == "":
        return "—"
    return f"{Decimal(rate) * 100:.{int(places)}f}%"


@register.simple_tag
def delta_pp(current, previous, lower_is_better=False):
    """The change of a rate against the previous period, in percentage points: the arrow says which way it
    moved, the colour whether that is good (for churn, down is good)."""
    if current is None or previous is None:
        return mark_safe('<span class="delta muted">no prior data</span>')  # noqa: S308 -- constant markup
    points = (Decimal(current) - Decimal(previous)) * 100
    if points.copy_abs() < Decimal("0.05"):
        return mark_safe('<span class="delta muted">= vs previous</span>')  # noqa: S308 -- constant markup
    arrow = "▲" if points > 0 else "▼"
    cls = "up" if (points > 0) != bool(lower_is_better) else "down"
    return format_html('<span class="delta {}">{} {} pts vs previous</span>', cls, arrow, f"{points.copy_abs():.1f}")


@register.simple_tag(takes_context=True)
def drill_url(context, kind, start, end, cohort=None):
    """The drill-down behind one number: same segment filters, this period and this kind of account."""
    request = context["request"]
    params = {k: request.GET[k] for k in FILTER_KEYS if request.GET.get(k)}
    params.update({"kind": kind, "period_start": start.isoformat(), "period_end": end.isoformat()})
    if cohort is not None:
        params["cohort"] = cohort.isoformat()
    org = context["organization"]
    return reverse("renewals:retention_drilldown", args=[org.slug]) + "?" + urlencode(params)


@register.filter
def heat(rate):
    """A background for a cohort cell: red below 80%, through white at 100%, to green above."""
    if rate is None:
        return ""
    value = float(rate)
    if value >= 1:
        strength = min((value - 1) / 0.3, 1)
        return f"background: rgba(31, 157, 87, {0.12 + 0.45 * strength:.2f})"
    strength = min((1 - value) / 0.5, 1)
    return f"background: rgba(212, 61, 61, {0.08 + 0.5 * strength:.2f})"


@register.simple_tag(takes_context=True)
def export_url(context, fmt, table=""):
    """This page's URL (path included: it is also used inside htmx panels) as a CSV/XLSX download."""
    request = context["request"]
    params = request.GET.copy()
    params.pop("page", None)
    params["format"] = fmt
    if table:
        params["table"] = table
    return request.path + "?" + params.urlencode()


@register.simple_tag(takes_context=True)
def sort_link(context, key, label, numeric=False, target="#pipeline-table"):
    """A sortable table header for the renewals tables (toggles direction, keeps the other filters)."""
    request = context["request"]
    params = request.GET.copy()
    current, desc = context.get("sort", "date"), context.get("desc", False)
    params["sort"] = key
    params.pop("page", None)
    if (not desc if current == key else numeric):
        params["desc"] = "1"
    else:
        params.pop("desc", None)
    arrow = (" ▼" if desc else " ▲") if current == key else ""
    url = request.path + "?" + params.urlencode()
    return format_html('<a href="{}" class="{}" hx-get="{}" hx-target="{}" hx-push-url="true">{}{}</a>',
                       url, "sorted" if current == key else "", url, target, label, arrow)
