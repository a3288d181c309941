"""Forms of the renewals pages: GET filter forms (period, segment, owner) and the in-place renewal edits."""
from __future__ import annotations

from django import forms

from accounts.models import Tier

from .forecast import AT_RISK_ANY, NO_CATEGORY
from .models import ForecastCategory, RenewalOutcome, RenewalStage, RiskReason
from .page_selectors import PRESETS, STATUSES

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


class PipelineFilterForm(SegmentFilterMixin):
    window = forms.ChoiceField(required=False, choices=[("30", "30 days"), ("90", "90 days"), ("180", "180 days")])
    quarter = forms.DateField(required=False)
    team = forms.ChoiceField(required=False, choices=[("", "All teams")])
    category = forms.ChoiceField(required=False, choices=[("", "All categories"), *ForecastCategory.choices,
                                                          (NO_CATEGORY, "Not called"),
                                                          (AT_RISK_ANY, "At risk: category or health")])
    status = forms.ChoiceField(required=False, choices=list(STATUSES.items()))
    sort = forms.CharField(required=False)
    desc = forms.BooleanField(required=False)

    def __init__(self, *args, owners=(), regions=(), teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices(owners=owners, regions=regions)
        self.fields["team"].choices = [("", "All teams"), *((str(t.pk), t.name) for t in teams)]


class ForecastBoardFilterForm(SegmentFilterMixin):
    quarter = forms.DateField(required=False)
    team = forms.ChoiceField(required=False, choices=[("", "All teams")])

    def __init__(self, *args, owners=(), regions=(), teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices(owners=owners, regions=regions)
        self.fields["team"].choices = [("", "All teams"), *((str(t.pk), t.name) for t in teams)]


class RenewalForecastForm(forms.Form):
    """The CSM's call on one renewal, edited in place in its pipeline row."""

    forecast_arr = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=2,
                                      label="Forecast ARR")
    forecast_category = forms.ChoiceField(required=False, choices=[("", "—"), *ForecastCategory.choices],
                                          label="Category")
    probability = forms.IntegerField(required=False, min_value=0, max_value=100, label="Probability %")
    risk_reason = forms.ChoiceField(required=False, choices=RiskReason.choices, label="Risk reason")
    stage = forms.ChoiceField(required=False, label="Stage", choices=[
        (k, v) for k, v in RenewalStage.choices if k != RenewalStage.CLOSED])
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def changes(self, data) -> dict:
        """Only the fields the request sent: a row form without notes leaves the notes alone."""
        changes = {name: self.cleaned_data[name] for name in self.fields if name in data}
        if not changes.get("stage", True):
            del changes["stage"]  # an empty stage means "leave it"
        return changes


class RenewalCloseForm(forms.Form):
    outcome = forms.ChoiceField(choices=RenewalOutcome.choices)
    final_arr = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=2, label="Final ARR",
                                   help_text="ARR renewed; leave empty for a churn.")
