from django import forms

from .models import CompanyUpdate


class CompanyUpdateForm(forms.ModelForm):
    url = forms.URLField(label="Link", required=False, assume_scheme="https",
                         help_text="Release notes, the battlecard, the playbook…")

    class Meta:
        model = CompanyUpdate
        fields = ["kind", "title", "body", "url"]
        widgets = {"body": forms.Textarea(attrs={"rows": 4})}


class ExecUpdateForm(forms.Form):
    highlights = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                                 help_text="Wins: renewals closed, expansions, saves.")
    lowlights = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                help_text="Losses and misses, and what we learned.")
    blockers = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    asks = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text="What you need from the leadership team.")
    next_week = forms.CharField(label="Next week", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    okr_status = forms.CharField(label="OKR status", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    recipient_ids = forms.TypedMultipleChoiceField(label="Recipients", coerce=int, required=False,
                                                   widget=forms.CheckboxSelectMultiple)
    extra_emails = forms.CharField(label="Other recipients", required=False,
                                   widget=forms.Textarea(attrs={"rows": 2, "placeholder": "board@example.com"}),
                                   help_text="Email addresses outside the product, one per line or comma-separated.")

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipient_ids"].choices = [
            (m.user_id, f"{m.user.display_name} ({m.get_role_display()})") for m in members
        ]

    def clean_extra_emails(self):
        raw = self.cleaned_data["extra_emails"].replace(",", "\n").replace(";", "\n")
        return [line.strip() for line in raw.splitlines() if line.strip()]
