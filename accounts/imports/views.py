"""CSV import pages, for ops admins: upload → report → confirm (all rows or only the valid ones) or discard."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from csops.exports import csv_response
from csops.tenancy.access import org_view
from csops.tenancy.selectors import organization_csms
from csops.tenancy.services import Actor

from ..models import ImportStatus
from . import services
from .columns import MAX_ROWS
from .forms import MAX_UPLOAD_BYTES, ImportUploadForm
from .kinds import ACCOUNTS, import_kind, import_kinds
from .parsing import template_rows
from .selectors import (
    import_batch_get,
    import_batch_list,
    import_commit_event,
    import_rejected_rows,
    import_report_rows,
)

HISTORY_PER_PAGE = 20
ISSUES_PER_PAGE = 100


def _batch_or_404(batch_id, *, with_rows: bool = False):
    # The tenant manager scopes the lookup: another organization's batch id is simply not found here.
    batch = import_batch_get(batch_id=batch_id, with_rows=with_rows)
    if batch is None:
        raise Http404("No such import")
    return batch


def _file_stem(batch) -> str:
    return batch.file_name.rsplit(".", 1)[0] or "import"


@org_view(admin=True)
@require_http_methods(["GET", "HEAD", "POST"])
def import_start(request, org_slug):
    kind = _kind_from(request)
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            batch = services.import_validate(
                organization=request.organization, actor=Actor.from_request(request), file_name=upload.name,
                data=upload.read(), kind=form.cleaned_data["kind"],
            )
            if services.import_blocking_reason(batch):
                messages.warning(request, f"Checked {batch.file_name}: it has problems, see the report below. "
                                          "Nothing has been imported.")
            else:
                messages.success(request, f"Checked {batch.file_name}: all {batch.valid_rows} rows are valid. "
                                          "Nothing is imported until you confirm.")
            return redirect("accounts:import_detail", org_slug=org_slug, batch_id=batch.pk)
    else:
        form = ImportUploadForm(initial={"kind": kind.key})
    page = Paginator(import_batch_list(), HISTORY_PER_PAGE).get_page(request.GET.get("page"))
    kinds = import_kinds()
    labels = {k.key: k.label for k in kinds}
    page.object_list = list(page.object_list)
    for batch in page.object_list:
        batch.kind_label = labels.get(batch.kind, batch.kind)
    return render(request, "accounts/import.html", {
        "form": form, "page": page, "columns": kind.columns, "max_rows": MAX_ROWS, "max_upload_bytes": MAX_UPLOAD_BYTES,
        "kind": kind, "kinds": kinds,
    })


def _kind_from(request):
    """The kind of file a page is about: ?type=<kind> (the accounts format when absent or unknown)."""
    return import_kind(request.GET.get("type")) or import_kind(ACCOUNTS)


@org_view(admin=True)
def import_template(request, org_slug):
    kind = _kind_from(request)
    if kind.template is not None:
        header, rows = kind.template(organization=request.organization)
        return csv_response(f"{kind.key}-import-template.csv", header, rows)
    owner = organization_csms(organization=request.organization).first()
    header, rows = template_rows(owner.email if owner else "csm@yourcompany.example")
    return csv_response("accounts-import-template.csv", header, rows)


@org_view(admin=True)
def import_detail(request, org_slug, batch_id):
    batch = _batch_or_404(batch_id)
    file_issues = [e for e in batch.errors if e["row"] is None]
    row_issues = [e for e in batch.errors if e["row"] is not None]
    page = Paginator(row_issues, ISSUES_PER_PAGE).get_page(request.GET.get("page"))
    commit_event = import_commit_event(batch=batch) if batch.status == ImportStatus.COMMITTED else None
    is_open = batch.status == ImportStatus.VALIDATED
    kind = import_kind(batch.kind) or import_kind(ACCOUNTS)
    summary = (commit_event.after or {}) if commit_event else {}
    return render(request, "accounts/import_detail.html", {
        "batch": batch, "kind": kind,
        "kind_summary": kind.describe(summary) if kind.describe is not None and summary else "",
        "file_errors": [e for e in file_issues if e.get("level", "error") == "error"],
        "file_warnings": [e for e in file_issues if e.get("level") == "warning"],
        "page": page,
        "row_issue_count": len(row_issues),
        "can_commit_all": is_open and services.import_blocking_reason(batch) is None,
        "can_commit_valid": is_open and batch.error_rows > 0
        and services.import_blocking_reason(batch, only_valid_rows=True) is None,
        "blocking_reason": services.import_blocking_reason(batch, only_valid_rows=True) if is_open else None,
        "is_open": is_open,
        "commit_event": commit_event,
        "summary": (commit_event.after or {}) if commit_event else {},
    })


@org_view(admin=True)
def import_errors_csv(request, org_slug, batch_id):
    """?kind=report: one line per problem; default: the rejected rows as uploaded, plus what was wrong."""
    batch = _batch_or_404(batch_id, with_rows=True)
    if request.GET.get("kind") == "report":
        header, rows = import_report_rows(batch=batch)
        return csv_response(f"{_file_stem(batch)}-report.csv", header, rows)
    header, rows = import_rejected_rows(batch=batch)
    return csv_response(f"{_file_stem(batch)}-rejected-rows.csv", header, rows)


@org_view(admin=True)
@require_POST
def import_commit(request, org_slug, batch_id):
    batch = _batch_or_404(batch_id)
    try:
        batch = services.import_commit(
            batch=batch, actor=Actor.from_request(request), only_valid_rows=request.POST.get("only_valid") == "1",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        rejected = f" {batch.error_rows} rejected row(s) were left out." if batch.only_valid_rows else ""
        kind = import_kind(batch.kind)
        if kind is not None and kind.describe is not None:
            summary = import_commit_event(batch=batch)
            messages.success(request, f"Imported {batch.file_name}: "
                                      f"{kind.describe((summary.after or {}) if summary else {})}{rejected}")
            return redirect("accounts:import_detail", org_slug=org_slug, batch_id=batch.pk)
        messages.success(
            request,
            f"Imported {batch.file_name}: {batch.created_count} account(s) created, {batch.updated_count} updated; "
            f"{batch.contacts_created} contact(s) created, {batch.contacts_updated} updated.{rejected}",
        )
    return redirect("accounts:import_detail", org_slug=org_slug, batch_id=batch.pk)


@org_view(admin=True)
@require_POST
def import_discard(request, org_slug, batch_id):
    batch = _batch_or_404(batch_id)
    try:
        services.import_discard(batch=batch, actor=Actor.from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("accounts:import_detail", org_slug=org_slug, batch_id=batch.pk)
    messages.info(request, f"Discarded {batch.file_name}. Nothing was imported.")
    return redirect("accounts:import", org_slug=org_slug)
