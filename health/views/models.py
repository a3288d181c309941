"""Health model pages under /o/<slug>/health/models/: every member reads models, their versions and drafts;
ops admins create segment models, edit and preview drafts, publish, discard and delete. Views parse, call
``health.services.models`` or ``health.preview``, and render; the engine decides what a valid model is."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from csops.tenancy.access import org_view
from csops.tenancy.services import Actor

from ..forms_models import KIND_CHOICES, ComponentRow, DraftEditor, HealthModelCreateForm, PublishForm, points_text
from ..models import HealthModel, HealthModelVersion, VersionStatus
from ..preview import BAND_LABELS, PREVIEW_MAX, PREVIEW_SAMPLE, SORTS, model_account_counts, model_preview
from ..scoring import KIND_SPECS
from ..services.models import (
    health_model_create,
    health_model_delete,
    health_model_discard_draft,
    health_model_draft_start,
    health_model_draft_update,
    health_model_in_use_reason,
    health_model_publish,
    health_model_segment_label,
)

PREVIEW_PAGE_SIZE = 50


def _models():
    versions = HealthModelVersion.objects.select_related("created_by", "published_by").order_by("-number")
    return HealthModel.objects.prefetch_related(Prefetch("versions", queryset=versions))


def _model_or_404(model_id) -> HealthModel:
    model = _models().filter(pk=model_id).first()
    if model is None:
        raise Http404("No such health model")
    return model


def _by_status(model: HealthModel, status: str) -> HealthModelVersion | None:
    return next((v for v in model.versions.all() if v.status == status), None)


def _done(request, model, text, level=messages.SUCCESS, to="health:model_detail"):
    messages.add_message(request, level, text)
    return redirect(to, org_slug=request.organization.slug, model_id=model.pk)


def _problems(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [m for messages_ in error.message_dict.values() for m in messages_]
    return list(error.messages)


# ---------------------------------------------------------------- reading (every member)


@org_view()
def model_list(request, org_slug):
    models = list(_models())
    counts = model_account_counts(organization=request.organization)
    rows = [{
        "model": m, "segment": health_model_segment_label(m.segment_field, m.segment_value),
        "published": _by_status(m, VersionStatus.PUBLISHED), "draft": _by_status(m, VersionStatus.DRAFT),
        "accounts": counts.get(m.pk, 0),
    } for m in models]
    return render(request, "health/models_list.html", {"rows": rows, "can_edit": request.membership.is_admin})


def config_view(config: dict, compare: dict | None = None) -> dict:
    """A stored config as the pages show it: components with their curve as text and as an SVG polyline,
    parameters by label, and (with ``compare``) what changed against another version."""
    before = {c["key"]: c for c in (compare or {}).get("components", [])}
    components = []
    for c in config.get("components", []):
        spec = KIND_SPECS.get(c["kind"])
        row = ComponentRow.from_config(c)
        curve = [tuple(p) for p in (c.get("points") or (spec.default_points if spec else ()))]
        old = before.get(c["key"])
        components.append({
            "key": c["key"], "kind": c["kind"], "kind_label": row.kind_label, "label": c.get("label") or row.kind_label,
            "weight": c["weight"], "signal": row.signal, "curve": points_text(curve),
            "curve_pairs": curve, "svg": _curve_svg(curve), "params": [(p.label, p.value) for p in row.param_fields],
            "default_curve": not c.get("points"), "raw_hint": row.raw_hint,
            "was_weight": old["weight"] if old and old["weight"] != c["weight"] else None,
            "is_new": compare is not None and old is None,
            "changed": compare is not None and old is not None and old != c,
        })
    removed = [c for k, c in before.items() if k not in {c["key"] for c in config.get("components", [])}]
    thresholds_changed = compare is not None and any(
        compare.get(k) != config.get(k) for k in ("healthy_min", "at_risk_below", "min_present_weight"))
    return {"components": components, "healthy_min": config.get("healthy_min"),
            "at_risk_below": config.get("at_risk_below"), "min_present_weight": config.get("min_present_weight"),
            "removed": removed, "thresholds_changed": thresholds_changed,
            "weight_total": round(sum(c["weight"] for c in config.get("components", [])), 6)}


def _curve_svg(points, width=120, height=36) -> str:
    """The curve as SVG polyline points (flat beyond both ends, as the engine reads it)."""
    if len(points) < 2:
        return ""
    xs = [x for x, _ in points]
    low, high = min(xs), max(xs)
    pad = (high - low) * 0.15 or 1.0
    low, high = low - pad, high + pad
    drawn = [(low, points[0][1]), *points, (high, points[-1][1])]
    return " ".join(f"{(x - low) / (high - low) * width:.1f},{height - y / 100 * height:.1f}" for x, y in drawn)


@org_view()
def model_detail(request, org_slug, model_id):
    model = _model_or_404(model_id)
    published = _by_status(model, VersionStatus.PUBLISHED)
    draft = _by_status(model, VersionStatus.DRAFT)
    counts = model_account_counts(organization=request.organization)
    return render(request, "health/models_detail.html", {
        "model": model, "segment": health_model_segment_label(model.segment_field, model.segment_value),
        "published": published, "draft": draft, "versions": list(model.versions.all()),
        "published_view": config_view(published.config) if published else None,
        "draft_view": config_view(draft.config, published.config if published else None) if draft else None,
        "accounts": counts.get(model.pk, 0), "in_use_reason": health_model_in_use_reason(model=model),
        "can_edit": request.membership.is_admin, "publish_form": PublishForm(initial={"notes": draft.notes if draft
                                                                                      else ""}),
    })


@org_view()
def model_version(request, org_slug, model_id, version_id):
    model = _model_or_404(model_id)
    version = next((v for v in model.versions.all() if v.pk == version_id), None)
    if version is None:
        raise Http404("No such version")
    earlier = next((v for v in model.versions.all() if v.number < version.number), None)
    return render(request, "health/models_version.html", {
        "model": model, "version": version, "earlier": earlier,
        "segment": health_model_segment_label(model.segment_field, model.segment_value),
        "view": config_view(version.config, earlier.config if earlier else None),
    })


# ---------------------------------------------------------------- writing (ops admins)


@org_view(admin=True)
def model_new(request, org_slug):
    form = HealthModelCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        field_name, value = form.segment_parts()
        try:
            model = health_model_create(
                organization=request.organization, actor=Actor.from_request(request), name=form.cleaned_data["name"],
                segment_field=field_name, segment_value=value, description=form.cleaned_data["description"],
            )
        except ValidationError as invalid:
            for name, errors in invalid.message_dict.items():
                form.add_error("segment" if name.startswith("segment") else name if name in form.fields else None,
                               errors)
        else:
            return _done(request, model, f"Created {model.name}, with a draft copied from the default model. "
                         "Adjust it, preview it on real accounts, then publish it.", to="health:model_draft")
    return render(request, "health/models_new.html", {"form": form})


@org_view(admin=True)
def model_draft(request, org_slug, model_id):
    """The draft editor. GET shows the draft (or offers to start one); POST saves it, all or nothing."""
    model = _model_or_404(model_id)
    draft = _by_status(model, VersionStatus.DRAFT)
    published = _by_status(model, VersionStatus.PUBLISHED)
    if request.method == "POST":
        editor = DraftEditor(data=request.POST)
        cleaned = editor.cleaned()
        if cleaned is not None:
            try:
                draft = health_model_draft_update(model=model, actor=Actor.from_request(request), **cleaned)
            except ValidationError as invalid:
                editor.attach(_problems(invalid))
            else:
                if request.POST.get("then") == "preview":
                    return _done(request, model, "Draft saved. Here is how it would score your accounts.",
                                 to="health:model_preview")
                return _done(request, model, f"Draft v{draft.number} saved. Preview it, then publish it.",
                             to="health:model_draft")
        if editor.errors or editor.field_errors or any(r.errors for r in editor.rows):
            messages.error(request, "Nothing was saved: fix the problems marked below.")
    else:
        editor = DraftEditor(config=draft.config, notes=draft.notes) if draft else None
    return render(request, "health/models_draft.html", {
        "model": model, "draft": draft, "published": published, "editor": editor, "kinds": KIND_CHOICES,
        "segment": health_model_segment_label(model.segment_field, model.segment_value),
    })


@org_view(admin=True)
def model_draft_component(request, org_slug, model_id):
    """htmx: one new, empty component row of the chosen kind for the editor."""
    _model_or_404(model_id)
    kind = request.GET.get("kind") or KIND_CHOICES[0][0]
    if kind not in KIND_SPECS:
        kind = KIND_CHOICES[0][0]
    return render(request, "health/partials/_model_component_row.html", {"row": ComponentRow.new(kind)})


@org_view(admin=True)
@require_POST
def model_draft_start(request, org_slug, model_id):
    model = _model_or_404(model_id)
    draft = health_model_draft_start(model=model, actor=Actor.from_request(request))
    return _done(request, model, f"Draft v{draft.number} started from the current configuration.",
                 to="health:model_draft")


@org_view(admin=True)
def model_preview_view(request, org_slug, model_id):
    """The draft scored on the model's real accounts next to today's scores: band moves, biggest changes."""
    model = _model_or_404(model_id)
    draft = _by_status(model, VersionStatus.DRAFT)
    if draft is None:
        return _done(request, model, "There is no draft to preview. Start one first.", level=messages.INFO)
    everyone = request.GET.get("all") == "1"
    preview = model_preview(organization=request.organization, model=model, draft=draft,
                            sample=None if everyone else PREVIEW_SAMPLE)
    sort = request.GET.get("sort") if request.GET.get("sort") in SORTS else "change"
    changed_only = request.GET.get("changed") == "1"
    rows = preview.sorted_rows(sort)
    if changed_only:
        rows = [r for r in rows if r.band_changed]
    page = Paginator(rows, PREVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    chart = {"labels": [b["label"] for b in preview.band_counts()],
             "before": [b["before"] for b in preview.band_counts()],
             "after": [b["after"] for b in preview.band_counts()]}
    context = {
        "model": model, "draft": draft, "preview": preview, "page": page, "sort": sort, "sorts": SORTS,
        "all": everyone, "preview_max": PREVIEW_MAX, "changed_only": changed_only, "band_labels": BAND_LABELS,
        "chart": chart,
        "published": _by_status(model, VersionStatus.PUBLISHED), "publish_form": PublishForm(
            initial={"notes": draft.notes}),
        "segment": health_model_segment_label(model.segment_field, model.segment_value),
        "base_query": _query(request, exclude=("page",)),
    }
    template = "health/partials/_model_preview_table.html" if request.htmx else "health/models_preview.html"
    return render(request, template, context)


def _query(request, exclude=()) -> str:
    query = request.GET.copy()
    for name in exclude:
        query.pop(name, None)
    return query.urlencode()


@org_view(admin=True)
@require_POST
def model_publish(request, org_slug, model_id):
    model = _model_or_404(model_id)
    form = PublishForm(request.POST)
    notes = form.cleaned_data["notes"] if form.is_valid() and form.cleaned_data["notes"] else None
    try:
        version = health_model_publish(model=model, actor=Actor.from_request(request), notes=notes)
    except ValidationError as invalid:
        return _done(request, model, "Not published: " + " ".join(_problems(invalid)), level=messages.ERROR)
    return _done(request, model, f"Published v{version.number}: it scores {model.name}'s accounts from now on; "
                 "today's health is recomputed with it.")


@org_view(admin=True)
@require_POST
def model_discard(request, org_slug, model_id):
    model = _model_or_404(model_id)
    health_model_discard_draft(model=model, actor=Actor.from_request(request))
    return _done(request, model, "Draft discarded.", level=messages.INFO)


@org_view(admin=True)
@require_POST
def model_delete(request, org_slug, model_id):
    model = _model_or_404(model_id)
    try:
        health_model_delete(model=model, actor=Actor.from_request(request))
    except ValidationError as refused:
        return _done(request, model, "Not deleted. " + " ".join(_problems(refused)), level=messages.ERROR)
    messages.success(request, f"Deleted {model.name}. Its accounts are scored by the next model that applies.")
    return redirect(reverse("health:model_list", kwargs={"org_slug": request.organization.slug}))
