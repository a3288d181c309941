from django import forms
from django.template.defaultfilters import filesizeformat

from .parsing import looks_binary

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
ACCEPTED_EXTENSIONS = (".csv", ".txt", ".tsv")


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds", required=False, choices=())
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 (Excel: “CSV UTF-8”), up to 25 MB. Nothing is imported until you confirm.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, **kwargs):
        from .kinds import ACCOUNTS, import_kinds

        super().__init__(*args, **kwargs)
        kinds = import_kinds()
        self.fields["kind"].choices = [(k.key, k.label) for k in kinds]
        self.fields["kind"].initial = ACCOUNTS
        if len(kinds) == 1:
            self.fields["kind"].widget = forms.HiddenInput()

    def clean_kind(self):
        from .kinds import ACCOUNTS

        return self.cleaned_data.get("kind") or ACCOUNTS

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name or ""
        if not name.lower().endswith(ACCEPTED_EXTENSIONS):
            raise forms.ValidationError(
                f"“{name}” is not a .csv file. In Excel use File → Save as → CSV UTF-8, then upload that file."
            )
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the limit is {filesizeformat(MAX_UPLOAD_BYTES)}. "
                "Split it into smaller files."
            )
        head = upload.read(8192)
        upload.seek(0)
        reason = looks_binary(head)
        if reason:
            raise forms.ValidationError(reason)
        return upload
