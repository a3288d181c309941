"""health.components: the stored form of a snapshot's components (one object of parallel arrays) and its way
back to whole component rows. Both writers (dicts for the ORM, JSON text for PostgreSQL's COPY) must say the
same thing, and reading back must give the engine's frame again."""
import datetime as dt

import numpy as np
import orjson
import pandas as pd
import pytest
from django.db import connection, transaction

from health.bulk import copy_text_into_temp
from health.components import (
    FIELDS,
    KEYS_SEPARATOR,
    STORED_FIELDS,
    aggregated_frame,
    component_rows,
    components_frame,
    documents,
    documents_json,
)
from health.scoring import ComponentConfig, HealthModelConfig, score
from tests.factories import HealthSnapshotFactory, snapshot_components

from .helpers import signals

MODEL = HealthModelConfig(
    version="v1",
    components=(
        ComponentConfig(kind="usage_trend", weight=40),
        ComponentConfig(kind="nps", weight=30, label='NPS "promoters" \\ detractors'),
        ComponentConfig(kind="csm_pulse", weight=30),
    ),
)


def _engine_components():
    result = score(signals(
        {"a1": {"usage_trend": 0.95, "nps": 50, "csm_pulse": 2.0},
         "a2": {"usage_trend": np.nan, "nps": -30, "csm_pulse": np.nan},
         "a3": {"usage_trend": np.nan, "nps": np.nan, "csm_pulse": np.nan}},
        nps={"a1": "2026-11-02", "a2": "2026-10-30"},
    ), MODEL)
    return result.components


def test_documents_hold_per_snapshot_values_in_model_order_with_nan_as_null():
    stored = documents(_engine_components())
    assert list(stored) == ["a1", "a2", "a3"]
    a2 = stored["a2"]
    assert list(a2) == list(STORED_FIELDS)
    assert a2["component"] == ["usage_trend", "nps", "csm_pulse"]
    assert a2["raw_value"] == [None, -30.0, None] and a2["missing"] == [True, False, True]
    assert a2["score"][0] is None and a2["score"][1] == pytest.approx(35.0)  # (NPS + 100) / 2
    assert a2["effective_weight"] == [0.0, 100.0, 0.0]  # the missing weight went to NPS
    assert a2["observed_on"] == [None, "2026-10-30", None]


def test_json_text_says_exactly_what_the_dicts_say_also_for_mixed_models_and_odd_keys():
    components = _engine_components()
    odd = components[components["account_id"] == "a1"].iloc[:2].assign(account_id="a0", component=['x"],["y', "z\\"])
    mixed = pd.concat([components, odd, components.iloc[:1].assign(account_id="a3")])  # a3 again, out of order
    ids, texts = documents_json(mixed)
    expected = documents(mixed)
    assert sorted(ids.tolist()) == sorted(expected)
    for account, text in zip(ids.tolist(), texts.tolist(), strict=True):
        assert orjson.loads(text) == expected[account]


def test_rows_and_frame_put_kind_label_and_weight_back_from_the_version():
    components = _engine_components()
    config = {**MODEL.to_dict(), "version": "v1"}
    stored = documents(components)
    rows = component_rows(stored["a1"], config)
    assert [set(r) for r in rows] == [set(FIELDS)] * 3
    assert [(r["kind"], r["label"], r["weight"]) for r in rows] == [
        ("usage_trend", "Usage trend", 40), ("nps", 'NPS "promoters" \\ detractors', 30),
        ("csm_pulse", "CSM pulse", 30),
    ]

    frame = components_frame(list(stored), ["v1"] * 3, [orjson.dumps(d).decode() for d in stored.values()],
                             {"v1": config})
    expected = components.assign(observed_on=components["observed_on"].astype("datetime64[s]"))
    pd.testing.assert_frame_equal(frame.reset_index(drop=True),
                                  expected[["account_id", *FIELDS]].reset_index(drop=True), check_dtype=False)


def test_a_component_the_version_does_not_know_keeps_its_key_as_label():
    stored = documents(_engine_components())
    rows = component_rows(stored["a1"], {"components": [{"key": "nps", "kind": "nps", "label": "NPS", "weight": 30}]})
    assert [(r["component"], r["label"], r["kind"]) for r in rows][0] == ("usage_trend", "usage_trend", "")
    assert component_rows({}, {}) == [] and component_rows(None, {}) == []


@pytest.mark.django_db
def test_text_copy_keeps_backslashes_quotes_tabs_newlines_and_unicode():
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    ids, texts = documents_json(pd.DataFrame({
        "account_id": ["00000000-0000-0000-0000-000000000001"] * 2, "component": ['a\\b "c"', "é\tü"],
        "raw_value": [1.5, np.nan], "score": [10.0, np.nan], "effective_weight": [100.0, 0.0],
        "contribution": [10.0, 0.0], "missing": [False, True],
        "observed_on": np.array([dt.date(2026, 11, 1), None], dtype="datetime64[s]"),
    }))
    with transaction.atomic(), connection.cursor() as cursor:
        copy_text_into_temp(cursor, "t_docs", "account_id uuid, components text, note text", [
            ids.tolist(), texts.tolist(), ["tab\there, newline\nthere \\N"]])
        cursor.execute("SELECT note FROM t_docs")
        assert cursor.fetchone()[0] == "tab\there, newline\nthere \\N"
        cursor.execute("SELECT components::jsonb -> 'component', components::jsonb -> 'raw_value' FROM t_docs")
        keys, raw = cursor.fetchone()
    assert orjson.loads(keys) == ['a\\b "c"', "é\tü"] and orjson.loads(raw) == [1.5, None]


def _aggregated(ids, versions, docs):
    """What the PostgreSQL selector's string_agg gives for these documents (jsonb prints arrays as "[1, null]")."""
    import json

    return (",".join(ids), ",".join(versions), KEYS_SEPARATOR.join(json.dumps(d["component"]) for d in docs),
            {name: ",".join(json.dumps(d[name]) for d in docs) for name in STORED_FIELDS[1:]})


def test_aggregated_texts_read_back_exactly_as_the_documents_do_across_versions_and_odd_keys():
    stored = documents(_engine_components())
    v1 = {**MODEL.to_dict(), "version": "v1"}
    v2 = {"components": [{"key": "nps", "kind": "nps", "label": "NPS v2", "weight": 100}]}
    odd = {**stored["a1"], "component": ['x"],["y', "é\\z", "nps"]}  # free-text keys; none known to v1
    ids = ["a1", "a2", "a3", "a4", "a5"]
    versions = ["v1", "v2", "v1", "v2", "v1"]
    docs = [stored["a1"], stored["a2"], stored["a3"], stored["a1"], odd]
    configs = {"v1": v1, "v2": v2}

    frame = aggregated_frame(*_aggregated(ids, versions, docs), configs)

    expected = components_frame(ids, versions, docs, configs)
    pd.testing.assert_frame_equal(frame, expected)
    assert frame.loc[frame["account_id"] == "a4", "label"].tolist() == ["usage_trend", "NPS v2", "csm_pulse"]
    assert frame.loc[frame["account_id"] == "a5", "component"].tolist() == ['x"],["y', "é\\z", "nps"]


def test_aggregated_texts_that_do_not_line_up_are_refused_not_misread():
    stored = documents(_engine_components())
    ids, versions, keys, fields = _aggregated(["a1", "a2"], ["v1", "v1"], [stored["a1"], stored["a2"]])
    short = {**fields, "score": fields["score"].rsplit(",", 1)[0]}  # one value fewer than there are components
    with pytest.raises(ValueError, match="score"):
        aggregated_frame(ids, versions, keys, short, {})
    with pytest.raises(ValueError, match="observed_on"):
        aggregated_frame(ids, versions, keys, {**fields, "observed_on": None}, {})


@pytest.mark.django_db
def test_a_days_stored_components_read_the_same_on_every_database(world, other_world, monkeypatch):
    """PostgreSQL reads the day's documents aggregated by the database; the portable path reads each document:
    both give the frame ``components_frame`` makes of the stored documents, and an account without components
    has no rows."""
    from csops.tenancy.context import tenant_context
    from health.models import HealthSnapshot
    from health.selectors import snapshot_components as stored_components

    day = dt.date(2026, 11, 17)
    for score_, missing in ((72.5, ()), (31.0, ("nps",)), (55.0, ("usage_trend", "csm_pulse"))):
        HealthSnapshotFactory(account__organization=world.org, date=day, score=score_,
                              components=snapshot_components(score_, missing=missing))
    HealthSnapshotFactory(account__organization=world.org, date=day, score=None,
                          components={name: [] for name in STORED_FIELDS})
    HealthSnapshotFactory(account__organization=other_world.org, date=day)  # another tenant's: not read
    if connection.vendor == "postgresql":  # the aggregated read, not its per-document fallback
        monkeypatch.setattr("health.selectors.components_frame", lambda *a, **k: pytest.fail("fell back"))
    with tenant_context(world.org):
        frame = stored_components(day=day)
        rows = list(HealthSnapshot.objects.filter(date=day).values_list("account_id", "model_version_id",
                                                                        "components", "model_version__config"))
    expected = components_frame([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                                {str(r[1]): r[3] for r in rows})
    order = ["account_id", "component"]
    pd.testing.assert_frame_equal(frame.sort_values(order).reset_index(drop=True),
                                  expected.sort_values(order).reset_index(drop=True))
    assert frame["account_id"].nunique() == 3 and len(frame) == 9
