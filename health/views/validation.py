"""Health model validation page: does each model version's score separate the accounts that went on to churn
(or contract) from the rest, on this organization's own history? For ops admins, managers and leaders."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_safe

from csops.tenancy.access import org_view
from csops.tenancy.models import Role

from ..validation import GOOD_AUC, HORIZONS, MIN_SAMPLE, WEAK_AUC
from ..validation_selectors import validation_page

ALLOWED_ROLES = (Role.OPS_ADMIN, Role.MANAGER, Role.LEADER)
BAND_LABELS = {"healthy": "Healthy", "stable": "Stable", "at_risk": "At risk", "unknown": "No score"}


def _pct(rate) -> float | None:
    return None if rate.percent is None else round(rate.percent, 1)


@org_view()
@require_safe
def validation(request, org_slug):
    if request.membership.role not in ALLOWED_ROLES:
        raise PermissionDenied("Model validation is for ops admins, managers and leaders.")
    page = validation_page(today=request.organization.today())
    charts = [
        {
            "id": f"validation-chart-{version.pk}",
            "labels": [BAND_LABELS.get(row.band, row.band) for row in result.bands],
            "series": [
                {"label": f"Churn within {h} days", "data": [_pct(row.churn[h]) for row in result.bands]}
                for h in HORIZONS
            ] + [{"label": f"Contraction within {HORIZONS[-1]} days",
                  "data": [_pct(row.contraction[HORIZONS[-1]]) for row in result.bands]}],
        }
        for version, result in page.versions
    ]
    return render(request, "health/validation.html", {
        "page": page, "charts": charts, "horizons": HORIZONS, "min_sample": MIN_SAMPLE,
        "good_auc": GOOD_AUC, "weak_auc": WEAK_AUC, "band_labels": BAND_LABELS,
    })
