from django.http import HttpResponse

from csops.tenancy.access import org_view


def _stub(request, *a, **k):
    return HttpResponse("")


portfolio = account_list_view = account_new = reassign = account_detail = account_edit = org_view()(_stub)
touchpoint_add = contact_add = contact_edit = org_view()(_stub)
