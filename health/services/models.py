"""Health models and their versions: the default model every organization starts with, segment models,
drafts (edited and previewed), publishing, deleting.

A model's versions move draft → published → retired. At most one draft and one published version exist per
model (database constraints); published and retired versions are never edited, because snapshots point at the
exact version that scored them. Every configuration is validated by the engine (``HealthModelConfig``): its
``HealthModelError.problems`` are what the ops admin reads, as a ``ValidationError`` on ``config``.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import LifecycleStage, Tier
from csops.tenancy.context import tenant_context
from csops.tenancy.models import Organization
from csops.tenancy.services import Actor, audit_record, model_snapshot

from ..models import HealthModel, HealthModelVersion, HealthSnapshot, SegmentField, VersionStatus
from ..scoring import HealthModelConfig, HealthModelError, default_model

DEFAULT_MODEL_NAME = "Default"
SEGMENT_VALUES: dict[str, type] = {SegmentField.TIER: Tier, SegmentField.LIFECYCLE_STAGE: LifecycleStage}
MODEL_FIELDS = ["name", "description", "segment_field", "segment_value"]


@transaction.atomic
def health_model_ensure_default(*, organization: Organization) -> HealthModel:
    """The organization's default (segment-less) model, created with a published seed version if missing.

    Idempotent and safe under concurrency: the unique constraint on (organization, segment) decides."""
    with tenant_context(organization):
        model = HealthModel.objects.filter(segment_field="", segment_value="").first()
        if model is not None:
            return model
        model, created = HealthModel.objects.get_or_create(
            organization=organization, segment_field="", segment_value="",
            defaults={"name": DEFAULT_MODEL_NAME, "description": "The seed model: usage, relationship, "
                      "sentiment and support, with Healthy ≥ 70 and At risk < 40."},
        )
        if created:
            HealthModelVersion.objects.create(
                organization=organization, model=model, number=1, status=VersionStatus.PUBLISHED,
                config=default_model().to_dict(), notes="Seed model.", published_at=timezone.now(),
            )
        return model


# ---------------------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------------------


def health_model_segment_label(segment_field: str, segment_value: str) -> str:
    """"Tier: Enterprise", "Lifecycle stage: Onboarding", or "Default" for the fallback model."""
    if not segment_field:
        return "Default (all other accounts)"
    choices = SEGMENT_VALUES.get(segment_field)
    value = dict(choices.choices).get(segment_value, segment_value) if choices else segment_value
    return f"{SegmentField(segment_field).label}: {value}"


def _segment_problems(segment_field: str, segment_value: str) -> dict[str, list[str]]:
    if segment_field not in SegmentField.values:
        return {"segment_field": [f"Choose tier or lifecycle stage, not {segment_field!r}."]}
    if not segment_field:
        return {"segment_field": ["Every organization has exactly one default model already; choose a segment "
                                  "(a tier or a lifecycle stage) for a new model."]}
    allowed = SEGMENT_VALUES[segment_field].values
    if segment_value not in allowed:
        return {"segment_value": [f"Choose one of {', '.join(allowed)} for {SegmentField(segment_field).label}."]}
    return {}


@transaction.atomic
def health_model_create(
    *, organization: Organization, actor: Actor, name: str, segment_field: str, segment_value: str,
    description: str = "",
) -> HealthModel:
    """A model for one segment (a tier or a lifecycle stage), starting with a draft copied from the default
    model's published configuration. It scores nothing until that draft is published."""
    name = (name or "").strip()
    errors = _segment_problems(segment_field or "", segment_value or "")
    if not name:
        errors["name"] = ["Give the model a name."]
    elif len(name) > 100:
        errors["name"] = ["At most 100 characters."]
    with tenant_context(organization):
        if name and HealthModel.objects.filter(name__iexact=name).exists():
            errors["name"] = ["A health model with this name already exists."]
        if not errors and HealthModel.objects.filter(segment_field=segment_field, segment_value=segment_value).exists():
            label = health_model_segment_label(segment_field, segment_value)
            errors["segment_value"] = [f"Another health model already applies to {label}."]
        if errors:
            raise ValidationError(errors)
        try:
            with transaction.atomic():
                model = HealthModel.objects.create(
                    name=name, description=description or "", segment_field=segment_field, segment_value=segment_value,
                )
        except IntegrityError:  # a concurrent create of the same name or segment won the race
            raise ValidationError({"name": ["A health model with this name or segment was just created."]}) from None
        HealthModelVersion.objects.create(
            model=model, number=1, status=VersionStatus.DRAFT, config=_seed_config(organization),
            notes=f"Copied from the {DEFAULT_MODEL_NAME.lower()} model.", created_by=actor.user,
        )
        audit_record(actor=actor, action="health_model.create", obj=model, after=model_snapshot(model, MODEL_FIELDS))
        return model


def _seed_config(organization: Organization) -> dict[str, Any]:
    """The default model's published configuration (the engine's seed model if there is none)."""
    default = health_model_ensure_default(organization=organization)
    published = default.versions.filter(status=VersionStatus.PUBLISHED).first()
    return copy.deepcopy(published.config) if published else default_model().to_dict()


@transaction.atomic
def health_model_update(*, model: HealthModel, actor: Actor, name: str, description: str = "") -> HealthModel:
    """Rename a model or change its description (its segment is fixed: make a new model for another one)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": ["Give the model a name of at most 100 characters."]})
    if HealthModel.objects.filter(name__iexact=name).exclude(pk=model.pk).exists():
        raise ValidationError({"name": ["A health model with this name already exists."]})
    before = model_snapshot(model, ["name", "description"])
    model.name, model.description = name, description or ""
    model.save(update_fields=["name", "description", "updated_at"])
    audit_record(actor=actor, action="health_model.update", obj=model, before=before,
                 after=model_snapshot(model, ["name", "description"]))
    return model


def health_model_in_use_reason(*, model: HealthModel) -> str:
    """Why the model cannot be deleted ("" when it can)."""
    if model.is_default:
        return ("The default model scores every account no segment model claims, so it cannot be deleted. "
                "Change it with a new version instead.")
    if HealthSnapshot.objects.filter(model_version__model=model).exists():
        return ("This model is in use: accounts' health snapshots were scored with its versions, and they must "
                "keep pointing at the exact version that scored them.")
    return ""


@transaction.atomic
def health_model_delete(*, model: HealthModel, actor: Actor) -> None:
    """Delete a model that never scored anything. The default model and any model in use are refused."""
    model = _locked(model)
    reason = health_model_in_use_reason(model=model)
    if reason:
        raise ValidationError(reason)
    audit_record(actor=actor, action="health_model.delete", obj=model, before=model_snapshot(model, MODEL_FIELDS))
    model.delete()


# ---------------------------------------------------------------------------------------------------------------
# Versions
# ---------------------------------------------------------------------------------------------------------------


def _locked(model: HealthModel) -> HealthModel:
    """The model row, locked: version changes of one model are serialised on it."""
    return HealthModel.objects.select_for_update().get(pk=model.pk)


def health_model_draft(*, model: HealthModel) -> HealthModelVersion | None:
    return model.versions.filter(status=VersionStatus.DRAFT).first()


def health_model_published(*, model: HealthModel) -> HealthModelVersion | None:
    return model.versions.filter(status=VersionStatus.PUBLISHED).first()


def _next_number(model: HealthModel) -> int:
    return (model.versions.aggregate(top=Max("number"))["top"] or 0) + 1


@transaction.atomic
def health_model_draft_start(*, model: HealthModel, actor: Actor) -> HealthModelVersion:
    """The model's draft: the existing one, or a new one copied from the published version (else the latest
    version, else the default model's published configuration)."""
    model = _locked(model)
    draft = health_model_draft(model=model)
    if draft is not None:
        return draft
    source = health_model_published(model=model) or model.versions.order_by("-number").first()
    config = copy.deepcopy(source.config) if source else _seed_config(model.organization)
    number = _next_number(model)
    draft = HealthModelVersion.objects.create(
        model=model, number=number, status=VersionStatus.DRAFT, config={**config, "version": f"v{number}"},
        notes="", created_by=actor.user,
    )
    audit_record(actor=actor, action="health_model.draft_start", obj=draft,
                 after={"copied_from": f"v{source.number}" if source else "default model"})
    return draft


def health_model_config_from(
    *, components: Sequence[Mapping[str, Any]], healthy_min: Any, at_risk_below: Any, min_present_weight: Any = 0.0,
    version: str = "draft",
) -> HealthModelConfig:
    """Build and validate an engine config from editor/API input. Raises ``ValidationError`` whose ``config``
    entry lists every problem the engine found (weights not summing to 100, bad curves, unknown parameters…)."""
    try:
        data = {
            "version": version,
            "healthy_min": _number(healthy_min, "healthy_min"),
            "at_risk_below": _number(at_risk_below, "at_risk_below"),
            "min_present_weight": _number(min_present_weight, "min_present_weight"),
            "components": _with_keys(components),
        }
        return HealthModelConfig.from_dict(data)
    except HealthModelError as invalid:
        raise ValidationError({"config": invalid.problems}) from None
    except (TypeError, ValueError, KeyError, AttributeError) as broken:
        raise ValidationError({"config": [f"The configuration is malformed: {broken}"]}) from None


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if isinstance(value, int | float):
        return value
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def _with_keys(components: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Components with a key each: the given one, else the kind, else kind_2, kind_3… for a kind used twice.

    Keys are what snapshots and the "why it changed" sentence compare day to day, so an edited component
    keeps its key."""
    if not isinstance(components, Sequence) or isinstance(components, str | bytes):
        raise TypeError("components must be a list")
    rows = [dict(c) for c in components]
    taken = {str(r["key"]).strip() for r in rows if r.get("key")}
    for row in rows:
        key = str(row.get("key") or "").strip()
        if not key:
            base = str(row.get("kind") or "component")
            key, n = base, 2
            while key in taken:
                key, n = f"{base}_{n}", n + 1
            taken.add(key)
        row["key"] = key
        row["weight"] = _number(row.get("weight"), f"weight of {key}") if row.get("weight") is not None else None
        row.setdefault("points", [])
        row.setdefault("params", {})
        row["label"] = str(row.get("label") or "").strip()
    return rows


@transaction.atomic
def health_model_draft_update(
    *, model: HealthModel, actor: Actor, components: Sequence[Mapping[str, Any]], healthy_min: Any,
    at_risk_below: Any, min_present_weight: Any = 0.0, notes: str | None = None,
) -> HealthModelVersion:
    """Replace the draft's configuration (starting a draft if there is none). Invalid → ``ValidationError``
    listing every problem, and nothing is saved."""
    config = health_model_config_from(
        components=components, healthy_min=healthy_min, at_risk_below=at_risk_below,
        min_present_weight=min_present_weight,
    )
    draft = health_model_draft_start(model=model, actor=actor)
    before = {"config": draft.config, "notes": draft.notes}
    draft.config = {**config.to_dict(), "version": f"v{draft.number}"}
    if notes is not None:
        draft.notes = notes
    draft.save(update_fields=["config", "notes"])
    audit_record(actor=actor, action="health_model.draft_update", obj=draft, before=before,
                 after={"config": draft.config, "notes": draft.notes})
    return draft


@transaction.atomic
def health_model_discard_draft(*, model: HealthModel, actor: Actor) -> None:
    """Throw the draft away (nothing scored with it). No draft: nothing to do."""
    model = _locked(model)
    draft = health_model_draft(model=model)
    if draft is None:
        return
    audit_record(actor=actor, action="health_model.draft_discard", obj=draft, before={"config": draft.config})
    draft.delete()


@transaction.atomic
def health_model_publish(*, model: HealthModel, actor: Actor, notes: str | None = None) -> HealthModelVersion:
    """Publish the draft: the published version (if any) is retired, the draft becomes the one in use, and
    today's snapshots of the organization are recomputed after commit (``health.tasks.health_daily``)."""
    model = _locked(model)
    draft = health_model_draft(model=model)
    if draft is None:
        raise ValidationError("There is no draft to publish. Start a draft, edit it, preview it, then publish.")
    try:
        draft.engine_config()  # validated once more: a draft written by an older engine may no longer be valid
    except HealthModelError as invalid:
        raise ValidationError({"config": invalid.problems}) from None
    now = timezone.now()
    previous = health_model_published(model=model)
    if previous is not None:
        previous.status = VersionStatus.RETIRED
        previous.save(update_fields=["status"])
    draft.status = VersionStatus.PUBLISHED
    draft.published_at, draft.published_by = now, actor.user
    if notes is not None:
        draft.notes = notes
    draft.save(update_fields=["status", "published_at", "published_by", "notes"])
    audit_record(actor=actor, action="health_model.publish", obj=draft,
                 before={"published": f"v{previous.number}" if previous else None},
                 after={"published": f"v{draft.number}", "notes": draft.notes})
    organization_id = model.organization_id
    transaction.on_commit(lambda: _recompute_today(organization_id))
    return draft


def _recompute_today(organization_id: int) -> None:
    """Enqueue the recompute of today's snapshots of the organization with the newly published model."""
    from health.tasks import health_daily  # tasks import the snapshot services, which import this module

    health_daily.delay(organization_id)
