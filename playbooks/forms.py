import datetime as dt

from django import forms

from accounts.forms import OwnerChoiceField

from .models import TaskPriority, TaskType


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=TaskType.choices, initial=TaskType.ACTIVITY)
    priority = forms.TypedChoiceField(choices=TaskPriority.choices, coerce=int, initial=TaskPriority.MEDIUM)
    due_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    owner = OwnerChoiceField(queryset=None, required=False, empty_label="Account owner")
    reason = forms.CharField(max_length=200, required=False,
                             help_text="Optional. Tasks with the same account, type and reason are not duplicated.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class SnoozeForm(forms.Form):
    until = forms.DateField()

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until <= self.today:
            raise forms.ValidationError("Snooze until a future date.")
        return until
