"""Renewals pages: revenue retention (GRR/NRR/logo churn, trend, waterfall, cohorts, drill-downs), the renewals
pipeline with in-place forecast edits, and the quarter's forecast board. Numbers come from renewals/ledger.py
and renewals/forecast.py through renewals/page_selectors.py; views only pick filters and render."""
from __future__ import annotations

import datetime as dt

from django.http import Http404
from django.shortcuts import render

from accounts.selectors import account_regions
from csops.exports import csv_response, xlsx_response
from csops.tenancy.access import org_view
from csops.tenancy.selectors import organization_csms

from . import ledger
from .forms import EXPORT_FORMATS, DrilldownForm, RetentionFilterForm
from .page_selectors import (
    DRILL_KINDS,
    PRESETS,
    ChosenPeriod,
    Segment,
    choose_period,
    drill_rows,
    drilldown_moves,
    retention_page,
)
from .periods import quarter_bounds

DRILL_PAGE_SIZE = 25


# ---------------------------------------------------------------- shared


def export_response(request, filename: str, header, rows):
    """CSV or XLSX of a table, by `?format=`; every text cell formula-safe, money as numbers."""
    if request.GET.get("format") == "xlsx":
        return xlsx_response(f"{filename}.xlsx", header, rows)
    return csv_response(f"{filename}.csv", header, rows)


def wants_export(request) -> bool:
    return request.GET.get("format") in EXPORT_FORMATS


def _segment_from(data, *, organization) -> Segment:
    owner = data.get("owner")
    return Segment(
        owner_ids=[owner] if owner else None,
        tiers=[data["tier"]] if data.get("tier") else None,
        region=data.get("region") or "",
    )


def _filters_active(request) -> bool:
    return any(request.GET.get(k) for k in ("tier", "region", "owner", "team", "category"))


# ---------------------------------------------------------------- retention


def _retention_form(request, form_class=RetentionFilterForm):
    owners = list(organization_csms(organization=request.organization))
    form = form_class(request.GET or None, owners=owners, regions=account_regions())
    data = form.cleaned_data if form.is_valid() else {}
    return form, data


@org_view()
def retention(request, org_slug):
    org = request.organization
    today = org.today()
    form, data = _retention_form(request)
    period = choose_period(preset=data.get("preset") or ("custom" if data.get("start") else "t12m"),
                           start=data.get("start"), last_day=data.get("end"), today=today,
                           fiscal_start_month=org.fiscal_year_start_month)
    grain = data.get("grain") or "month"
    page = retention_page(segment=_segment_from(data, organization=org), period=period, grain=grain, today=today,
                          fiscal_start_month=org.fiscal_year_start_month)
    if wants_export(request):
        return _retention_export(request, page, grain)
    chart = {
        "trend": {
            "labels": [_month_label(p.as_of, today) for p in page.trend],
            "grr": [_pct_number(p.grr) for p in page.trend],
            "nrr": [_pct_number(p.nrr) for p in page.trend],
        },
        "waterfall": [
            {"label": "Start ARR", "value": float(page.waterfall.start_arr), "kind": "total"},
            {"label": "New", "value": float(page.waterfall.new), "kind": "up"},
            {"label": "Expansion", "value": float(page.waterfall.expansion), "kind": "up"},
            {"label": "Contraction", "value": -float(page.waterfall.contraction), "kind": "down"},
            {"label": "Churn", "value": -float(page.waterfall.churn), "kind": "down"},
            {"label": "Reactivation", "value": float(page.waterfall.reactivation), "kind": "up"},
            {"label": "End ARR", "value": float(page.waterfall.end_arr), "kind": "total"},
        ],
        "currency": org.reporting_currency,
    }
    return render(request, "renewals/retention.html", {
        "form": form, "page": page, "period": period, "grain": grain, "chart": chart, "today": today,
        "cohort_range": range(page.cohort_columns), "presets": list(PRESETS.items()),
        "filters_active": _filters_active(request),
        "fiscal_month_name": dt.date(2000, org.fiscal_year_start_month, 1).strftime("%B"),
    })


def _month_label(as_of: dt.date, today: dt.date) -> str:
    """A trend point measured on the 1st closes the month before it; the last point may be today."""
    if as_of.day == 1:
        return (as_of - dt.timedelta(days=1)).strftime("%b %Y")
    return f"{as_of:%b} {as_of.day}" + (" (today)" if as_of == today else "")


def _pct_number(rate):
    return None if rate is None else round(float(rate) * 100, 2)


def _retention_export(request, page, grain):
    table = request.GET.get("table", "waterfall")
    if table == "cohort":
        header = ["Start quarter", "Accounts", "Starting ARR", *[f"Q+{k}" for k in range(page.cohort_columns)]]
        rows = [[c.quarter.label, c.accounts, c.start_arr, *(cell.rate for cell in c.cells)] for c in page.cohorts]
        return export_response(request, "retention-cohorts", header, rows)
    if table == "trend":
        header = ["As of", "GRR (T12M)", "NRR (T12M)", "Logo churn (T12M)"]
        rows = [[p.as_of, p.grr, p.nrr, p.logo_churn_rate] for p in page.trend]
        return export_response(request, "retention-trend", header, rows)
    header = ["Period", "From", "To (exclusive)", "Start ARR", "New", "Expansion", "Contraction", "Churn",
              "Reactivation", "End ARR"]
    rows = [
        [b.period.label, b.period.start, b.period.end, b.waterfall.start_arr, b.waterfall.new, b.waterfall.expansion,
         b.waterfall.contraction, b.waterfall.churn, b.waterfall.reactivation, b.waterfall.end_arr]
        for b in page.buckets
    ]
    w = page.waterfall
    rows.append([page.period.label, page.period.start, page.period.end, w.start_arr, w.new, w.expansion,
                 w.contraction, w.churn, w.reactivation, w.end_arr])
    return export_response(request, f"arr-waterfall-by-{grain}", header, rows)


@org_view()
def retention_drilldown(request, org_slug):
    """The accounts behind a retention number, with their ARR at the start (R0) and at the end (R1)."""
    org = request.organization
    today = org.today()
    form, data = _retention_form(request, DrilldownForm)
    kind = data.get("kind") or "cohort"
    if kind not in DRILL_KINDS:
        raise Http404("No such drill-down")
    default = choose_period(preset="t12m", start=None, last_day=None, today=today,
                            fiscal_start_month=org.fiscal_year_start_month)
    start = data.get("period_start") or default.start
    end = data.get("period_end") or default.end
    if end < start:
        start, end = end, start
    cohort = quarter_bounds(data["cohort"], org.fiscal_year_start_month) if data.get("cohort") else None
    moves = drilldown_moves(segment=_segment_from(data, organization=org), start=start, end=end, kind=kind,
                            cohort_quarter=cohort)
    title = DRILL_KINDS[kind] + (f" — {cohort.label} cohort" if cohort else "")
    if wants_export(request):
        rows = drill_rows(moves)
        header = ["Account", "External id", "Tier", "Region", "Owner", f"ARR on {start}", f"ARR on {end}", "Change",
                  "Movement"]
        kinds = list(moves["kind"].astype(str))
        return export_response(request, f"retention-{kind}-{start}-{end}", header, [
            [r.account.name if r.account else str(r.account_id), r.account.external_id if r.account else "",
             r.account.get_tier_display() if r.account else "", r.account.region if r.account else "",
             r.account.owner.display_name if r.account and r.account.owner else "", r.r0, r.r1, r.change, k]
            for r, k in zip(rows, kinds, strict=True)
        ])
    total = len(moves)
    pages = max(1, -(-total // DRILL_PAGE_SIZE))
    try:
        number = min(max(int(request.GET.get("page", "1")), 1), pages)
    except ValueError:
        number = 1
    window = moves.iloc[(number - 1) * DRILL_PAGE_SIZE:number * DRILL_PAGE_SIZE]
    rows = drill_rows(window)
    context = {
        "rows": rows, "kinds": list(window["kind"].astype(str)), "title": title, "kind": kind,
        "start": start, "end": end, "last_day": end - dt.timedelta(days=1), "total": total,
        "r0_total": ledger.cents_to_decimal(moves["r0_cents"].sum()),
        "r1_total": ledger.cents_to_decimal(moves["r1_cents"].sum()),
        "page_number": number, "pages": pages, "form": form,
        "period": ChosenPeriod(start, end, "", "custom"),
    }
    context["row_pairs"] = list(zip(rows, context["kinds"], strict=True))
    if request.htmx:
        return render(request, "renewals/partials/_drilldown.html", context)
    return render(request, "renewals/drilldown.html", context)
