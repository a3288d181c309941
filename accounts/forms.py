from django import forms
from django.utils import timezone

from .models import Account, Contact, HealthBand, LifecycleStage, Tier, TouchpointKind


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class AccountForm(forms.ModelForm):
    owner = OwnerChoiceField(queryset=None, required=False, empty_label="Unassigned")

    class Meta:
        model = Account
        fields = ["name", "external_id", "domain", "industry", "tier", "lifecycle_stage", "region", "owner", "arr",
                  "renewal_date"]
        widgets = {"renewal_date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class AccountFilterForm(forms.Form):
    """Query-string filters shared by the portfolio page and the accounts list."""

    q = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search name, domain or id"})
    )
    tier = forms.ChoiceField(required=False, choices=[("", "All tiers"), *Tier.choices])
    stage = forms.ChoiceField(required=False, choices=[("", "All stages"), *LifecycleStage.choices])
    renewal = forms.ChoiceField(required=False, choices=[("", "Any renewal"), ("30", "Renews ≤ 30 days"),
                                                         ("90", "Renews ≤ 90 days"), ("180", "Renews ≤ 180 days")])
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[("", "All owners")])
    band = forms.ChoiceField(required=False, choices=[("", "Any health"), *HealthBand.choices])
    sort = forms.CharField(required=False)
    desc = forms.BooleanField(required=False)

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        if owners is None:
            del self.fields["owner"]
        else:
            self.fields["owner"].choices = [("", "All owners"), *((u.pk, u.display_name) for u in owners)]


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "email", "title", "role", "is_primary", "phone"]


class TouchpointForm(forms.Form):
    kind = forms.ChoiceField(choices=TouchpointKind.choices)
    occurred_at = forms.DateTimeField(
        initial=timezone.now, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        label="When",
    )
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What happened, what's next"}))
    attendees = forms.CharField(required=False, help_text="Comma-separated names or emails.")

    def clean_attendees(self):
        return [a.strip() for a in self.cleaned_data["attendees"].split(",") if a.strip()]

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        if value > timezone.now() + timezone.timedelta(days=1):
            raise forms.ValidationError("Log touchpoints that happened; plan future ones as tasks.")
        return value


class ReassignForm(forms.Form):
    new_owner = OwnerChoiceField(queryset=None, required=False, empty_label="Unassigned", label="New owner")
    reason = forms.CharField(
        max_length=200, required=False, widget=forms.TextInput(attrs={"placeholder": "e.g. territory change"})
    )

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_owner"].queryset = owners


