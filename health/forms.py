"""Health forms: the CSM pulse on the account page."""
from django import forms

from .models import PulseValue
from .services.pulses import REASON_MAX_LENGTH


class PulseForm(forms.Form):
    value = forms.ChoiceField(choices=PulseValue.choices, widget=forms.RadioSelect, label="Your read")
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH, label="Why",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What did you see or hear? (champion left, QBR…)"}),
    )
    valid_days = forms.IntegerField(
        required=False, min_value=1, max_value=365, label="Counts for (days)",
        help_text="Leave empty for the health model's default.",
        widget=forms.NumberInput(attrs={"placeholder": "30", "style": "width: 90px"}),
    )
