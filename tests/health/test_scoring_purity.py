"""health/scoring is pure (ARCHITECTURE.md): it imports nothing from Django, only the standard library, numpy
and pandas — checked on the sources and by running the engine in a fresh interpreter."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import health.scoring

PACKAGE = Path(health.scoring.__file__).parent
REPO_ROOT = PACKAGE.parent.parent
ALLOWED = {"numpy", "pandas", "__future__"} | set(sys.stdlib_module_names)


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module or "")
    return names


def test_scoring_sources_import_only_the_standard_library_numpy_and_pandas():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) >= 5
    offending = {
        str(path.relative_to(REPO_ROOT)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] not in ALLOWED
        )
        for path in sources
    }
    assert {path: names for path, names in offending.items() if names} == {}


SCRIPT = """
import datetime as dt, sys
import pandas as pd
from health.scoring import ScoringInputs, compute_signals, default_model, explain_change, score
model = default_model(key_features=("feature:a",))
inputs = ScoringInputs(as_of=dt.date(2025, 6, 30), accounts=pd.DataFrame({"account_id": [1, 2]}))
result = score(compute_signals(inputs, model), model)
explain_change(result.components, result.components)
print(",".join(sorted(m for m in sys.modules if m == "django" or m.startswith("django."))))
"""


def test_the_engine_runs_in_an_interpreter_where_django_was_never_imported():
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    environment["PYTHONPATH"] = str(REPO_ROOT)
    completed = subprocess.run(  # noqa: S603 — fixed argv: this interpreter and the literal script above
        [sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == ""  # no django module was loaded
