"""Kinds of CSV import: one two-phase flow (services.py: validate → report → atomic commit; views.py and the
import pages), several file formats. `ImportBatch.kind` names the kind of a batch.

The accounts + contacts format is the built-in kind (its parser and writer live in this package and the
flow calls them directly). Other apps register their own formats with `register_import_kind(...)`, from
their AppConfig.ready() (accounts must not import them): e.g. renewals' contract lines. A kind provides

- `parse(data, *, organization, progress)` → a `columns.ParseResult` whose rows have `row`, `raw`, `ok`,
  `errors` and `as_dict(importable=...)` (what the batch stores; rejected rows as `{"row", "ok": False,
  "raw"}` so the shared report downloads work). Runs inside the tenant context, outside a transaction.
- `write(*, organization, actor, batch, rows, progress)` → a summary dict with at least `created` and
  `updated` (stored on the batch and in the commit's audit event). `rows` are the stored valid rows.
  Runs inside the commit's transaction and tenant context; raise `services.ImportBlocked` to roll it back.
- `template(*, organization)` → (header, rows) of the downloadable template.
- `describe(summary)` → one sentence saying what was written (flash message, report page, command).
- `columns`: objects with name, required, help, choices, max_length (the format table on the page), and
  `help_template`: a template with the format's explanation.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

ACCOUNTS = "accounts"


@dataclass(frozen=True)
class ImportKind:
    key: str
    label: str  # "Contract lines": the choice in the upload form and the column in the history
    title: str  # "Import contract lines": the page heading
    columns: Sequence
    parse: Callable | None = None  # None for the built-in accounts kind (services call parsing.py directly)
    write: Callable | None = None
    template: Callable | None = None
    describe: Callable[[dict], str] | None = None
    help_template: str = ""


_KINDS: dict[str, ImportKind] = {}


def register_import_kind(kind: ImportKind) -> ImportKind:
    """Add (or replace, e.g. on autoreload) the kind under its key."""
    _KINDS[kind.key] = kind
    return kind


def _builtin() -> ImportKind:
    from .columns import COLUMNS

    return ImportKind(key=ACCOUNTS, label="Accounts and contacts", title="Import accounts and contacts",
                      columns=COLUMNS, help_template="accounts/partials/_import_help_accounts.html")


def import_kind(key: str | None) -> ImportKind | None:
    """The kind registered under `key` (None or "" = accounts), or None when unknown."""
    key = key or ACCOUNTS
    if key == ACCOUNTS and ACCOUNTS not in _KINDS:
        register_import_kind(_builtin())
    return _KINDS.get(key)


def import_kinds() -> list[ImportKind]:
    """Every kind, accounts first."""
    import_kind(ACCOUNTS)
    return [_KINDS[ACCOUNTS], *(k for key, k in _KINDS.items() if key != ACCOUNTS)]
