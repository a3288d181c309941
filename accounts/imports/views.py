"""CSV import pages. Placeholder until the import feature lands (see accounts/imports/)."""
from django.http import HttpResponse

from csops.tenancy.access import org_view


@org_view(admin=True)
def import_start(request, org_slug):
    return HttpResponse("Import is being built.")


@org_view(admin=True)
def import_template(request, org_slug):
    return HttpResponse("")


@org_view(admin=True)
def import_detail(request, org_slug, batch_id):
    return HttpResponse("")


@org_view(admin=True)
def import_errors_csv(request, org_slug, batch_id):
    return HttpResponse("")


@org_view(admin=True)
def import_commit(request, org_slug, batch_id):
    return HttpResponse("")


@org_view(admin=True)
def import_discard(request, org_slug, batch_id):
    return HttpResponse("")
