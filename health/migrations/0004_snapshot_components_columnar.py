"""Snapshot components: one object of parallel arrays per snapshot instead of a list of one object per component
(``health.components``); kind, label and weight now come from the snapshot's model version.

PostgreSQL builds a jsonb object for every JSON object it stores: at 100k accounts × 8 components that was most of
the daily recompute's write. Existing rows are converted in place (one UPDATE on PostgreSQL; row by row elsewhere);
the reverse puts kind, label and weight back from the model version's config.
"""
from django.db import migrations, models

STORED = ("component", "raw_value", "score", "effective_weight", "contribution", "missing", "observed_on")

_TO_COLUMNAR = """
UPDATE health_healthsnapshot SET components = (
    SELECT jsonb_build_object({fields}) FROM jsonb_array_elements(components) WITH ORDINALITY AS t(e, i)
) WHERE jsonb_typeof(components) = 'array'
""".format(fields=", ".join(f"'{f}', COALESCE(jsonb_agg(e -> '{f}' ORDER BY i), '[]'::jsonb)" for f in STORED))


def _all_rows(connection):
    if connection.vendor == "postgresql":  # row-level security: this data migration spans every organization
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('csops.all_tenants', 'on', true)")


def to_columnar(apps, schema_editor):
    connection = schema_editor.connection
    _all_rows(connection)
    if connection.vendor == "postgresql":
        schema_editor.execute(_TO_COLUMNAR)
        return
    HealthSnapshot = apps.get_model("health", "HealthSnapshot")
    for pk, components in HealthSnapshot._base_manager.values_list("pk", "components").iterator(chunk_size=2000):
        if isinstance(components, list):
            document = {f: [c.get(f) if isinstance(c, dict) else None for c in components] for f in STORED}
            HealthSnapshot._base_manager.filter(pk=pk).update(components=document)


def to_list(apps, schema_editor):
    _all_rows(schema_editor.connection)
    HealthSnapshot = apps.get_model("health", "HealthSnapshot")
    rows = HealthSnapshot._base_manager.values_list("pk", "components", "model_version__config")
    for pk, document, config in rows.iterator(chunk_size=2000):
        if not isinstance(document, dict):
            continue
        meta = {c.get("key") or c.get("kind"): c for c in (config or {}).get("components", [])}
        components = []
        for i, key in enumerate(document.get("component") or []):
            c = meta.get(key, {})
            row = {"component": key, "kind": c.get("kind", ""), "label": c.get("label") or key,
                   "weight": c.get("weight")}
            row.update({f: (document.get(f) or [None] * (i + 1))[i] for f in STORED[1:]})
            components.append(row)
        HealthSnapshot._base_manager.filter(pk=pk).update(components=components)


class Migration(migrations.Migration):
    dependencies = [
        ("health", "0003_snapshot_components_lz4"),
    ]

    operations = [
        migrations.AlterField(model_name="healthsnapshot", name="components", field=models.JSONField(default=dict)),
        migrations.RunPython(to_columnar, to_list),
    ]
