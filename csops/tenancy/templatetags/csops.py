from decimal import Decimal

from django import template
from django.utils.html import format_html

register = template.Library()

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "CHF": "CHF "}


def _symbol(context) -> str:
    org = context.get("organization")
    code = getattr(org, "reporting_currency", "USD")
    return CURRENCY_SYMBOLS.get(code, f"{code} ")


@register.simple_tag(takes_context=True)
def money(context, value, compact=False):
    """Money in the organization's reporting currency: 45,300 or, compact, 1.2M / 45.3k."""
    if value in (None, ""):
        return "—"
    value = Decimal(value)
    sym = _symbol(context)
    if compact:
        for size, suffix in ((Decimal(1_000_000_000), "B"), (Decimal(1_000_000), "M"), (Decimal(1000), "k")):
            if abs(value) >= size:
                return f"{sym}{value / size:,.1f}{suffix}"
    return f"{sym}{value:,.0f}"


@register.simple_tag(takes_context=True)
def sort_header(context, key, label, numeric=False):
    """A table header that sorts by `key`, toggling direction, keeping the other filters."""
    request = context["request"]
    params = request.GET.copy()
    current, desc = context.get("sort", "name"), context.get("desc", False)
    params["sort"] = key
    params.pop("page", None)
    new_desc = not desc if current == key else numeric
    if new_desc:
        params["desc"] = "1"
    else:
        params.pop("desc", None)
    arrow = (" ▼" if desc else " ▲") if current == key else ""
    cls = "sorted" if current == key else ""
    return format_html(
        '<a href="?{}" class="{}" hx-get="?{}" hx-target="#account-table" hx-push-url="true">{}{}</a>',
        params.urlencode(), cls, params.urlencode(), label, arrow,
    )


@register.simple_tag(takes_context=True)
def query_with(context, **kwargs):
    """The current query string with some parameters replaced (empty value removes one)."""
    params = context["request"].GET.copy()
    params.pop("page", None)
    for key, value in kwargs.items():
        if value in ("", None):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + params.urlencode() if params else "?"


@register.filter
def days_until(value, today):
    if value is None or today is None:
        return None
    return (value - today).days




@register.filter
def absval(value):
    return abs(value) if value is not None else None
