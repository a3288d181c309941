"""Forms of the health model pages: a new segment model, and the draft editor.

The editor is one row per component (kind, label, weight in %, the curve as "raw → score" lines, the kind's
parameters) plus the band thresholds. Rows carry a short random id in their field names (``c-<rid>-weight``)
so htmx can add rows anywhere and the browser can remove them; their order is the order the browser posts
them in. The editor only parses what was typed: every rule about a valid model (weights summing to 100,
curves, parameter ranges, thresholds) is the engine's, surfaced as its messages next to the rows they name.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from django import forms

from accounts.models import LifecycleStage, Tier

from .models import SegmentField
from .scoring import KIND_SPECS, ComponentKind

ARROW_RE = re.compile(r"\s*(?:→|->|=>|=|;|,|:|\s)\s*")
ROW_ID_RE = re.compile(r"^c-([a-z0-9]{1,16})-kind$")
KIND_CHOICES = [(kind, spec.label) for kind, spec in KIND_SPECS.items()]
PARAM_LABELS = {
    "metric": "Usage metric", "window_days": "Window (days)", "key_features": "Key features (comma-separated)",
    "min_responses": "Minimum responses", "priorities": "Priorities (comma-separated)",
    "validity_days": "Counts for (days)", "good": "Good scores", "neutral": "Neutral scores",
    "concerned": "Concerned scores",
}
# What a raw value on the curve means, per kind (the x axis the admin types).
RAW_HINTS = {
    ComponentKind.SEAT_UTILISATION: "raw = seats used ÷ licensed (0.8 = 80 %)",
    ComponentKind.USAGE_TREND: "raw = last window ÷ prior window (1.0 = flat)",
    ComponentKind.FEATURE_BREADTH: "raw = share of key features used (0–1)",
    ComponentKind.TOUCHPOINT_RECENCY: "raw = days since the last touchpoint",
    ComponentKind.NPS: "raw = account NPS (−100…100)",
    ComponentKind.CSAT: "raw = % of responses scoring 4–5",
    ComponentKind.OPEN_PRIORITY_TICKETS: "raw = open tickets of those priorities",
    ComponentKind.ESCALATIONS: "raw = escalations in the window",
    ComponentKind.DAYS_TO_RENEWAL: "raw = days to the renewal date",
}


def _segment_choices():
    return [
        ("", "Choose a segment…"),
        ("Tier", [(f"{SegmentField.TIER}:{v}", label) for v, label in Tier.choices]),
        ("Lifecycle stage", [(f"{SegmentField.LIFECYCLE_STAGE}:{v}", label) for v, label in LifecycleStage.choices]),
    ]


class HealthModelCreateForm(forms.Form):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "e.g. Enterprise"}))
    segment = forms.ChoiceField(
        choices=_segment_choices, help_text="The accounts this model scores. An account's lifecycle stage model "
        "wins over its tier model; accounts no model claims use the default model.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def segment_parts(self) -> tuple[str, str]:
        field_name, _, value = self.cleaned_data["segment"].partition(":")
        return field_name, value


class PublishForm(forms.Form):
    notes = forms.CharField(
        required=False, label="What changed, and why",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "e.g. Usage trend weighs more for enterprise"}),
    )


# ---------------------------------------------------------------------------------------------------------------
# The draft editor
# ---------------------------------------------------------------------------------------------------------------


def points_text(points) -> str:
    return "\n".join(f"{_num(x)} → {_num(y)}" for x, y in points)


def _num(value: Any) -> str:
    return f"{float(value):g}" if isinstance(value, int | float) else str(value)


@dataclass
class ParamField:
    name: str
    label: str
    type: str
    value: str
    low: Any = None
    high: Any = None

    @property
    def input_type(self) -> str:
        return "number" if self.type in ("int", "float") else "text"

    @property
    def step(self) -> str:
        return "1" if self.type == "int" else "any"


@dataclass
class ComponentRow:
    """One component as the editor shows it: typed text, and the problems found in it."""

    rid: str
    kind: str
    key: str = ""
    label: str = ""
    weight: str = ""
    points: str = ""
    params: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def spec(self):
        return KIND_SPECS.get(self.kind)

    @property
    def kind_label(self) -> str:
        return self.spec.label if self.spec else self.kind

    @property
    def has_curve(self) -> bool:
        return self.kind != ComponentKind.CSM_PULSE

    @property
    def default_points(self) -> str:
        return points_text(self.spec.default_points) if self.spec else ""

    @property
    def signal(self) -> str:
        return self.spec.signal.replace("`", "") if self.spec else ""

    @property
    def raw_hint(self) -> str:
        return RAW_HINTS.get(self.kind, "")

    @property
    def param_fields(self) -> list[ParamField]:
        if not self.spec:
            return []
        return [ParamField(name=name, label=PARAM_LABELS.get(name, name.replace("_", " ")), type=p.type,
                           value=self.params.get(name, ""), low=p.low, high=p.high)
                for name, p in self.spec.params.items()]

    @classmethod
    def new(cls, kind: str) -> ComponentRow:
        spec = KIND_SPECS[kind]
        params = {name: _param_text(p.default) for name, p in spec.params.items()}
        return cls(rid=new_row_id(), kind=kind, label="", weight="", points=points_text(spec.default_points),
                   params=params)

    @classmethod
    def from_config(cls, component: dict) -> ComponentRow:
        spec = KIND_SPECS.get(component["kind"])
        given = component.get("params") or {}
        params = {name: _param_text(given.get(name, p.default)) for name, p in (spec.params.items() if spec else [])}
        points = component.get("points") or (spec.default_points if spec else ())
        return cls(rid=new_row_id(), kind=component["kind"], key=component.get("key", ""),
                   label=component.get("label", ""), weight=_num(component.get("weight", "")),
                   points=points_text(points), params=params)


def new_row_id() -> str:
    return secrets.token_hex(4)


def _param_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return _num(value) if isinstance(value, int | float) else str(value)


class DraftEditor:
    """Reads the editor's POST (or a stored config) into rows and thresholds; ``cleaned()`` gives the service's
    arguments, or None with ``errors`` / row errors filled in."""

    def __init__(self, *, config: dict | None = None, data=None, notes: str = "") -> None:
        self.errors: list[str] = []
        self.field_errors: dict[str, list[str]] = {}
        if data is not None:
            self.rows = self._rows_from(data)
            self.healthy_min = data.get("healthy_min", "").strip()
            self.at_risk_below = data.get("at_risk_below", "").strip()
            self.min_present_weight = data.get("min_present_weight", "").strip()
            self.notes = data.get("notes", "")
        else:
            config = config or {}
            self.rows = [ComponentRow.from_config(c) for c in config.get("components", [])]
            self.healthy_min = _num(config.get("healthy_min", 70))
            self.at_risk_below = _num(config.get("at_risk_below", 40))
            self.min_present_weight = _num(config.get("min_present_weight", 0))
            self.notes = notes

    @staticmethod
    def _rows_from(data) -> list[ComponentRow]:
        rows = []
        for name in data:
            match = ROW_ID_RE.match(name)
            if not match:
                continue
            rid = match.group(1)
            kind = data.get(name, "")
            spec = KIND_SPECS.get(kind)
            params = {p: data.get(f"c-{rid}-param-{p}", "").strip() for p in (spec.params if spec else {})}
            rows.append(ComponentRow(
                rid=rid, kind=kind, key=data.get(f"c-{rid}-key", "").strip(),
                label=data.get(f"c-{rid}-label", "").strip(),
                weight=data.get(f"c-{rid}-weight", "").strip(), points=data.get(f"c-{rid}-points", "").strip(),
                params=params,
            ))
        return rows

    @property
    def weight_total(self) -> float | None:
        try:
            return round(sum(float(r.weight) for r in self.rows), 6)
        except ValueError:
            return None

    def cleaned(self) -> dict | None:
        """The service's arguments, or None when something typed cannot be read (errors attached)."""
        self._assign_keys()
        components = []
        for row in self.rows:
            component = self._clean_row(row)
            if component is not None:
                components.append(component)
        top = {}
        for name in ("healthy_min", "at_risk_below", "min_present_weight"):
            try:
                top[name] = float(getattr(self, name))
            except ValueError:
                self.field_errors[name] = ["Enter a number."]
        if not self.rows:
            self.errors.append("A model needs at least one component: add one below.")
        if self.errors or self.field_errors or any(r.errors for r in self.rows):
            return None
        return {"components": components, **top, "notes": self.notes}

    def _assign_keys(self) -> None:
        """New rows get a key (the kind; kind_2… for a kind used twice). Existing rows keep theirs: snapshots
        and the "why it changed" sentence follow a component by its key."""
        taken = {row.key for row in self.rows if row.key}
        for row in self.rows:
            if not row.key:
                key, n = row.kind, 2
                while key in taken:
                    key, n = f"{row.kind}_{n}", n + 1
                row.key = key
                taken.add(key)

    def _clean_row(self, row: ComponentRow) -> dict | None:
        spec = row.spec
        if spec is None:
            row.errors.append(f"Unknown component kind {row.kind!r}.")
            return None
        try:
            weight = float(row.weight)
        except ValueError:
            row.errors.append("Weight: enter a number (a percentage of the score).")
            weight = None
        points = []
        if row.has_curve:
            points = self._points(row)
            if [tuple(p) for p in points] == [tuple(p) for p in spec.default_points]:
                points = []  # the kind's default curve: stored as "default", so it follows the kind
        params = {}
        for pf in row.param_fields:
            value = self._param(row, pf)
            if value is not None:
                params[pf.name] = value
        return {"key": row.key, "kind": row.kind, "label": row.label, "weight": weight, "points": points,
                "params": params}

    @staticmethod
    def _points(row: ComponentRow) -> list[list[float]]:
        points = []
        for n, line in enumerate(filter(None, (ln.strip() for ln in row.points.splitlines())), start=1):
            parts = [p for p in ARROW_RE.split(line) if p]
            try:
                if len(parts) != 2:
                    raise ValueError
                points.append([float(parts[0].replace("−", "-")), float(parts[1].replace("−", "-"))])
            except ValueError:
                row.errors.append(f"Curve line {n} ({line!r}): write it as “raw → score”, e.g. “0.8 → 100”.")
        return points

    @staticmethod
    def _param(row: ComponentRow, pf: ParamField):
        text = pf.value.strip()
        if text == "":
            if pf.type == "str_tuple" and pf.name == "key_features":
                return ()  # reported by the engine: breadth needs its key features
            return None  # the kind's default
        if pf.type == "str_tuple":
            return tuple(v.strip() for v in text.split(",") if v.strip())
        if pf.type == "str":
            return text
        try:
            number = float(text)
        except ValueError:
            row.errors.append(f"{pf.label}: enter a number.")
            return None
        if pf.type == "int":
            if not number.is_integer():
                row.errors.append(f"{pf.label}: enter a whole number.")
                return None
            return int(number)
        return number

    def attach(self, problems: list[str]) -> None:
        """Put the engine's problems next to the rows they name ("component 'nps': …"); the rest on top."""
        by_key = {row.key: row for row in self.rows}
        for problem in problems:
            match = re.match(r"^component '([^']+)': (.*)$", problem)
            row = by_key.get(match.group(1)) if match else None
            if row is not None:
                row.errors.append(match.group(2))
            else:
                self.errors.append(_friendly(problem))


def _friendly(problem: str) -> str:
    """The engine's wording, with its parameter names turned into the editor's labels."""
    return (problem.replace("at_risk_below", "At risk below").replace("healthy_min", "Healthy from")
            .replace("min_present_weight", "Minimum weight present"))
