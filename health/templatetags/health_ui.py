"""Health display helpers: band pills and score cells (lists, account page, overview)."""
from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.models import HealthBand

register = template.Library()
BAND_LABELS = dict(HealthBand.choices)


def _band(band) -> str:
    return band if band in BAND_LABELS else HealthBand.UNKNOWN


@register.simple_tag
def band_pill(band):
    """<span class="band band-at_risk">At risk</span>; anything unknown reads "No score"."""
    band = _band(band)
    return format_html('<span class="band band-{}">{}</span>', band, BAND_LABELS[band])


@register.simple_tag
def health_cell(score, band):
    """A list cell: the score and its band pill, or a muted dash when the account has no score."""
    band = _band(band)
    if score is None:
        return mark_safe('<span class="health-cell"><span class="muted" title="No score">—</span></span>')  # noqa: S308 -- constant markup
    return format_html(
        '<span class="health-cell"><span class="score">{}</span><span class="band band-{}">{}</span></span>',
        score, band, BAND_LABELS[band],
    )


@register.simple_tag
def widthpct(part, whole):
    """part ÷ whole as a CSS percentage width, clamped to 0–100 (0 when whole is 0)."""
    try:
        part, whole = float(part), float(whole)
    except (TypeError, ValueError):
        return 0
    if whole <= 0:
        return 0
    return round(max(0.0, min(100.0, part * 100.0 / whole)), 1)


@register.filter
def band_label(band):
    return BAND_LABELS[_band(band)]
