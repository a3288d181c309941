"""The executive dashboard's GET filters: segment (tier), team, CSM. Team and CSM are ids checked against the
day's aggregates by the view (an unknown one shows "no numbers for this scope"), so the form needs no query."""
from django import forms

from accounts.models import Tier

EXPORT_TABLES = ("team", "summary", "trend", "renewals")


class DashboardFilterForm(forms.Form):
    tier = forms.ChoiceField(required=False, choices=[("", "All segments"), *Tier.choices], label="Segment")
    team = forms.CharField(required=False, max_length=64)
    csm = forms.RegexField(required=False, regex=r"^\d{1,12}$", label="CSM")


class DashboardDrillForm(forms.Form):
    scope = forms.ChoiceField(choices=[("org", "org"), ("tier", "tier"), ("team", "team"), ("csm", "csm")])
    key = forms.CharField(required=False, max_length=64)
    kind = forms.ChoiceField(choices=[("accounts", "Accounts"), ("renewals", "Renewals this quarter"),
                                      ("at_risk", "At-risk renewals this quarter"), ("overdue", "Overdue tasks")])
    band = forms.CharField(required=False, max_length=16)
