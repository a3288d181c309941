"""Forms of the renewals pages: GET filter forms (period, segment, owner) and the in-place renewal edits."""
from __future__ import annotations

from django import forms

from accounts.models import Tier

from .page_selectors import PRESETS

GRAINS = [("month", "By month"), ("quarter", "By quarter")]
EXPORT_FORMATS = ("csv", "xlsx")


class SegmentFilterMixin(forms.Form):
    tier = forms.ChoiceField(required=False, choices=[("", "All tiers"), *Tier.choices])
    region = forms.ChoiceField(required=False, choices=[("", "All regions")])
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[("", "All CSMs")])

    def set_choices(self, *, owners=(), regions=()):
        self.fields["owner"].choices = [("", "All CSMs"), *((u.pk, u.display_name) for u in owners)]
        self.fields["region"].choices = [("", "All regions"), *((r, r) for r in regions)]


class RetentionFilterForm(SegmentFilterMixin):
    preset = forms.ChoiceField(required=False, choices=list(PRESETS.items()))
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")
    grain = forms.ChoiceField(required=False, choices=GRAINS)

    def __init__(self, *args, owners=(), regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices(owners=owners, regions=regions)


class DrilldownForm(RetentionFilterForm):
    """The drill-down repeats the page's filters, plus which number and which period exactly."""

    kind = forms.CharField(required=False)
    period_start = forms.DateField(required=False)
    period_end = forms.DateField(required=False)  # exclusive: revenue measured on this day
    cohort = forms.DateField(required=False)  # first day of a start quarter
