"""Renewals pages: revenue retention (GRR/NRR/logo churn, trend, waterfall, cohorts, drill-downs), the renewals
pipeline with in-place forecast edits, and the quarter's forecast board. Numbers come from renewals/ledger.py
and renewals/forecast.py through renewals/page_selectors.py; views only pick filters and render."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.selectors import account_regions
from csops.exports import csv_response, xlsx_response
from csops.tenancy.access import org_view
from csops.tenancy.models import Role
from csops.tenancy.selectors import organization_csms
from csops.tenancy.services import Actor

from . import ledger
from .forecast import forecast_for_period
from .forms import (
    EXPORT_FORMATS,
    DrilldownForm,
    ForecastBoardFilterForm,
    PipelineFilterForm,
    RenewalCloseForm,
    RenewalForecastForm,
    RetentionFilterForm,
)
from .models import ForecastCategory, RenewalOutcome, RenewalStage, RiskReason
from .page_selectors import (
    DRILL_KINDS,
    PRESETS,
    ChosenPeriod,
    Segment,
    choose_period,
    default_team_id,
    drill_rows,
    drilldown_moves,
    pipeline_period,
    pipeline_renewals,
    pipeline_totals,
    renewal_get,
    retention_page,
    team_choices,
    team_user_ids,
)
from .periods import add_months, quarter_bounds
from .services import renewal_close, renewal_update_forecast

DRILL_PAGE_SIZE = 25
PAGE_SIZE = 25


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


def _valid_filters(form) -> dict:
    """The filters that are valid; the others are dropped and named on the page (`filter_errors`), so a stale
    link never shows whole-organization numbers as if they were the segment asked for."""
    if not form.is_bound:
        return {}
    form.is_valid()
    return form.cleaned_data


def _filters_active(request) -> bool:
    return any(request.GET.get(k) for k in ("tier", "region", "owner", "team", "category"))


# ---------------------------------------------------------------- retention


def _retention_form(request, form_class=RetentionFilterForm):
    owners = list(organization_csms(organization=request.organization))
    form = form_class(request.GET or None, owners=owners, regions=account_regions())
    return form, _valid_filters(form)


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


# ---------------------------------------------------------------- pipeline


def _segment_with_team(request, data) -> Segment:
    """Tier/region/CSM filters plus a team (its members' books); a CSM outside the team matches nothing."""
    segment = _segment_from(data, organization=request.organization)
    if not data.get("team"):
        return segment
    team_ids = team_user_ids(organization=request.organization, team_id=data["team"])
    owner_ids = team_ids if segment.owner_ids is None else [i for i in segment.owner_ids if i in team_ids]
    return Segment(owner_ids=owner_ids, tiers=segment.tiers, region=segment.region)


def _pipeline_form(request, form_class):
    owners = list(organization_csms(organization=request.organization))
    form = form_class(request.GET or None, owners=owners, regions=account_regions(), teams=team_choices())
    return form, _valid_filters(form), owners


@org_view()
def pipeline(request, org_slug):
    org = request.organization
    if not request.GET and request.membership.role == Role.CSM:
        # A CSM starts from their own book; choosing "All CSMs" in the filter shows everyone's.
        return redirect(f"{request.path}?owner={request.user.pk}")
    if not request.GET and request.membership.role == Role.MANAGER:
        # A manager starts from their team's renewals; "All teams" in the filter shows everyone's.
        team_id = default_team_id(membership=request.membership)
        if team_id:
            return redirect(f"{request.path}?team={team_id}")
    today = org.today()
    form, data, owners = _pipeline_form(request, PipelineFilterForm)
    window = data.get("window") or "90"
    period = pipeline_period(window=window, quarter_start=data.get("quarter"), today=today,
                             fiscal_start_month=org.fiscal_year_start_month)
    segment = _segment_with_team(request, data)
    category, status = data.get("category") or "", data.get("status") or "open"
    sort, desc = data.get("sort") or "date", bool(data.get("desc"))
    qs = pipeline_renewals(period=period, segment=segment, category=category, status=status, sort=sort,
                           descending=desc)
    if wants_export(request):
        return _pipeline_export(request, qs, period, today)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    summary = forecast_for_period(start=period.start, end_exclusive=period.end, account_filter=segment.account_ids())
    this_quarter = quarter_bounds(today, org.fiscal_year_start_month)
    next_quarter = quarter_bounds(this_quarter.end, org.fiscal_year_start_month)
    context = {
        "form": form, "page": page, "period": period, "today": today, "window": window,
        "last_day": period.end - dt.timedelta(days=1),
        "quarter": data.get("quarter"), "totals": pipeline_totals(summary, category=category, status=status),
        "sort": sort, "desc": desc, "status": status, "this_quarter": this_quarter, "next_quarter": next_quarter,
        "prev_quarter": quarter_bounds(add_months(period.start, -3), org.fiscal_year_start_month)
        if data.get("quarter") else None,
        "following_quarter": quarter_bounds(period.end, org.fiscal_year_start_month) if data.get("quarter") else None,
        "filters_active": _filters_active(request), "table_url": request.path,
        **_row_choices(),
    }
    if request.htmx and request.htmx.target == "pipeline-table":
        return render(request, "renewals/partials/_pipeline_table.html", context)
    return render(request, "renewals/pipeline.html", context)


def _row_choices() -> dict:
    return {
        "categories": ForecastCategory.choices, "risk_reasons": RiskReason.choices,
        "stages": [(k, v) for k, v in RenewalStage.choices if k != RenewalStage.CLOSED],
        "outcomes": RenewalOutcome.choices,
    }


def _pipeline_export(request, qs, period, today):
    header = ["Account", "External id", "Tier", "Owner", "Renewal date", "Days left", "Target ARR", "Forecast ARR",
              "Category", "Probability %", "Risk reason", "Stage", "Outcome", "Final ARR", "Notes"]
    rows = (
        [r.account.name, r.account.external_id, r.account.get_tier_display(),
         r.account.owner.display_name if r.account.owner else "", r.renewal_date, (r.renewal_date - today).days,
         r.target_arr, r.forecast_arr, r.get_forecast_category_display() if r.forecast_category else "",
         r.probability, r.get_risk_reason_display() if r.risk_reason else "", r.get_stage_display(),
         r.get_outcome_display() if r.outcome else "", r.final_arr, r.notes]
        for r in qs.iterator(chunk_size=2000)
    )
    return export_response(request, f"renewals-{period.start}-{period.end}", header, rows)


def _renewal_or_404(renewal_id):
    renewal = renewal_get(renewal_id=renewal_id)
    if renewal is None:
        raise Http404("No such renewal")
    return renewal


def _row_response(request, renewal, *, error: str = "", flash: str = "", form=None, close_form=None):
    """A row action's answer: the re-rendered row for htmx, else back to the pipeline with a message."""
    if request.htmx:
        return render(request, "renewals/partials/_pipeline_row.html", {
            "r": renewal, "today": request.organization.today(), "error": error, "flash": flash, "saved": not error,
            "row_form": form, "close_form": close_form, **_row_choices(),
        })
    if error:
        messages.error(request, error)
    elif flash:
        messages.success(request, flash)
    referer = request.META.get("HTTP_REFERER", "")
    if url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        return redirect(referer)
    return redirect("renewals:pipeline", org_slug=request.organization.slug)


FIELD_LABELS = {
    **{name: str(f.label) for name, f in RenewalForecastForm.base_fields.items()},
    **{name: str(f.label or name.capitalize()) for name, f in RenewalCloseForm.base_fields.items()},
}


def _errors_text(errors) -> str:
    """Form or service errors as one line for the row: "Probability %: Ensure this value is …"."""
    if hasattr(errors, "message_dict"):
        errors = errors.message_dict
    elif hasattr(errors, "messages"):
        return " ".join(errors.messages)
    return " ".join(
        f"{'' if field == '__all__' else FIELD_LABELS.get(field, field) + ': '}{' '.join(messages_)}"
        for field, messages_ in errors.items()
    )


@org_view()
@require_POST
def forecast_edit(request, org_slug, renewal_id):
    renewal = _renewal_or_404(renewal_id)
    form = RenewalForecastForm(request.POST)
    if not form.is_valid():
        return _row_response(request, renewal, error=_errors_text(form.errors), form=form)
    try:
        renewal = renewal_update_forecast(renewal=renewal, actor=Actor.from_request(request),
                                          **form.changes(request.POST))
    except ValidationError as exc:
        return _row_response(request, _renewal_or_404(renewal_id), error=_errors_text(exc))
    return _row_response(request, _renewal_or_404(renewal.pk), flash="Saved.")


@org_view()
@require_POST
def renewal_close_view(request, org_slug, renewal_id):
    renewal = _renewal_or_404(renewal_id)
    form = RenewalCloseForm(request.POST)
    if not form.is_valid():
        return _row_response(request, renewal, error=_errors_text(form.errors), close_form=form)
    try:
        renewal = renewal_close(renewal=renewal, actor=Actor.from_request(request), **form.cleaned_data)
    except ValidationError as exc:
        return _row_response(request, _renewal_or_404(renewal_id), error=_errors_text(exc))
    return _row_response(request, _renewal_or_404(renewal.pk),
                         flash=f"Closed: {renewal.get_outcome_display().lower()}.")


# ---------------------------------------------------------------- forecast board


@org_view()
def forecast_board(request, org_slug):
    org = request.organization
    today = org.today()
    form, data, owners = _pipeline_form(request, ForecastBoardFilterForm)
    quarter = quarter_bounds(data.get("quarter") or today, org.fiscal_year_start_month)
    segment = _segment_with_team(request, data)
    summary = forecast_for_period(start=quarter.start, end_exclusive=quarter.end, account_filter=segment.account_ids())
    if wants_export(request):
        table = request.GET.get("table", "category")
        buckets = summary.by_risk_reason if table == "risk" else summary.by_category
        header = ["Risk reason" if table == "risk" else "Forecast category", "Open renewals", "Target ARR",
                  "Expected ARR"]
        return export_response(request, f"forecast-{quarter.label}-by-{table}",
                               header, [[b.label, b.count, b.target_arr, b.expected_arr] for b in buckets])
    chart = {
        "currency": org.reporting_currency,
        "category": {"labels": [b.label for b in summary.by_category],
                     "target": [float(b.target_arr) for b in summary.by_category],
                     "expected": [float(b.expected_arr) for b in summary.by_category]},
        # The chart shows the named reasons; "no risk reason" (most renewals) stays in the table only.
        "risk": {"labels": [b.label for b in summary.by_risk_reason if b.key],
                 "target": [float(b.target_arr) for b in summary.by_risk_reason if b.key]},
    }
    max_category = max((b.target_arr for b in summary.by_category), default=0) or 1
    max_risk = max((b.target_arr for b in summary.by_risk_reason), default=0) or 1
    return render(request, "renewals/forecast.html", {
        "form": form, "summary": summary, "quarter": quarter, "today": today, "chart": chart,
        "last_day": quarter.end - dt.timedelta(days=1),
        "prev_quarter": quarter_bounds(add_months(quarter.start, -3), org.fiscal_year_start_month),
        "next_quarter": quarter_bounds(quarter.end, org.fiscal_year_start_month),
        "is_current": quarter.start <= today < quarter.end, "filters_active": _filters_active(request),
        "category_rows": [(b, b.target_arr * 100 / max_category) for b in summary.by_category],
        "risk_rows": [(b, b.target_arr * 100 / max_risk) for b in summary.by_risk_reason],
    })
