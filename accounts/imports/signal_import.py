"""The CSV import of signals (usage, survey responses, support tickets): three kinds of the import flow.

Registered with kinds.py, so the two phases, the pages, the report and its downloads are the foundation
import's: `signal_import_parse` reads and checks every row (the API's checks) for `import_validate`;
`signal_import_write` checks the stored rows again (an account may have been deleted since) and writes them
with the ingest services inside `import_commit`'s one transaction.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from accounts.signals.rows import SIGNAL_KINDS, SURVEYS, TICKETS, USAGE
from accounts.signals.services import INGESTERS, signals_prepare
from csops.tenancy.models import Organization
from csops.tenancy.services import Actor

from ..models import ImportBatch
from .columns import Issue, ParseResult
from .kinds import ImportKind, register_import_kind
from .services import ImportBlocked
from .signal_columns import KIND_LABELS, read_signal_csv, signal_columns, signal_template


@dataclass
class SignalParsedRow:
    """One data row of a signal file, in the shape the import flow stores and reports (see kinds.py)."""

    row: int
    raw: list[str]
    cells: dict
    errors: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self, *, importable: bool = True) -> dict:
        # Valid rows keep their cells as read: the commit checks them again with the same rules.
        if self.ok and importable:
            return {"row": self.row, "ok": True, "cells": self.cells}
        return {"row": self.row, "ok": False, "raw": self.raw}


def signal_import_parse(kind: str, data: bytes, *, organization: Organization,
                        progress: Callable[[int], object] | None = None) -> ParseResult:
    """Phase 1 of a signal file: read it and check every row (the API's checks: formats, scales, the
    accounts and contacts the rows name, keys repeated in the file). Reads only."""
    csv_file, read_issues = read_signal_csv(kind, data)
    result = ParseResult(header=csv_file.header, file_issues=list(csv_file.file_issues), encoding=csv_file.encoding)
    result.rows = [SignalParsedRow(row=n, raw=raw, cells=cells)
                   for n, cells, raw in zip(csv_file.numbers, csv_file.cells, csv_file.raw, strict=True)]
    if not result.file_errors and result.rows:
        _, errors = signals_prepare(kind=kind, organization=organization, rows=csv_file.cells,
                                    numbers=csv_file.numbers, unknown_fields_are_errors=False)
        by_number = {r.row: r for r in result.rows}
        for issue in read_issues:
            by_number[issue.row].errors.append(issue)
        for e in errors:
            by_number[e.row].errors.append(Issue(e.row, e.field or "", e.value, e.message))
    if progress is not None:
        progress(len(result.rows))
    return result


def signal_import_write(*, organization: Organization, actor: Actor, batch: ImportBatch, rows: list[dict],
                        progress: Callable[[int, int], object] | None = None) -> dict:
    """Write the valid stored rows of a signal batch (inside import_commit's transaction). Returns the summary
    for the batch and its audit event; raises ImportBlocked when a row no longer passes its checks."""
    prepared, errors = signals_prepare(kind=batch.kind, organization=organization, rows=[r["cells"] for r in rows],
                                       numbers=[r["row"] for r in rows], unknown_fields_are_errors=False)
    if errors:
        shown = [f"row {e.row}: {e.message}" for e in errors[:5] if e.message]
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ImportBlocked(f"Since the file was checked, some rows stopped being valid: {'; '.join(shown)}{more}. "
                            "Nothing was imported. Upload the file again to re-check it.")
    result = INGESTERS[batch.kind](organization=organization, actor=None, rows=prepared)
    if progress is not None:
        progress(len(prepared), len(prepared))
    return {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
            "accounts_changed": len(result.account_ids)}


NOUNS = {USAGE: ("usage row", "usage rows"), SURVEYS: ("survey response", "survey responses"),
         TICKETS: ("ticket", "tickets")}


def _describe(kind: str):
    one, many = NOUNS[kind]

    def describe(summary: dict) -> str:
        created, updated, unchanged = (summary.get(k, 0) for k in ("created", "updated", "unchanged"))
        return (f"{created:,} {one if created == 1 else many} created, {updated:,} updated, {unchanged:,} already "
                f"received as they were (ignored); the health of {summary.get('accounts_changed', 0):,} account(s) "
                "is being recomputed.")

    return describe


def register_signal_import_kinds() -> None:
    """Register the usage, surveys and tickets CSV formats with the import flow (AccountsConfig.ready)."""
    for kind in SIGNAL_KINDS:
        register_import_kind(ImportKind(
            key=kind, label=KIND_LABELS[kind], title=f"Import {KIND_LABELS[kind].lower()}",
            columns=signal_columns(kind),
            parse=partial(signal_import_parse, kind),
            write=signal_import_write,
            template=lambda *, organization, kind=kind: signal_template(kind),
            describe=_describe(kind),
            help_template="accounts/partials/_import_help_signals.html",
        ))

