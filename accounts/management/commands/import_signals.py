"""Load a big file of signals (usage, survey responses, support tickets) into one organization.

    manage.py import_signals {usage,surveys,tickets} FILE --org SLUG [--only-valid] [--dry-run]
                             [--chunk-size 5000] [--encoding utf-8-sig]

The file is streamed twice, chunk by chunk, so a 10-million-row file never sits in memory:
1. check every row (the API's and the import page's checks); problems go to FILE.errors.csv. With any
   problem nothing is written (exit non-zero), unless --only-valid;
2. write all the rows in ONE transaction (all or nothing), with INSERT … ON CONFLICT per chunk: rows already
   received are ignored, so a file can be loaded again safely. The health of the accounts whose signals
   changed is recomputed after the commit.
Progress bars go to stderr.
"""
import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.imports.signal_columns import iter_signal_csv
from accounts.signals.rows import SIGNAL_KINDS
from accounts.signals.services import SignalRowsInvalid, signals_ingest_chunks, signals_prepare
from csops.exports import safe_cell
from csops.tenancy.context import tenant_context
from csops.tenancy.selectors import organization_by_slug
from csops.tenancy.services import Actor

SHOWN_PROBLEMS = 20


class Command(BaseCommand):
    help = "Load usage, survey responses or support tickets from a CSV file of any size (check, then one commit)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=SIGNAL_KINDS, help="What the file holds.")
        parser.add_argument("file", help="Path to the CSV file (the columns of the import page's template).")
        parser.add_argument("--org", required=True, help="Slug of the organization to load into.")
        parser.add_argument("--only-valid", action="store_true",
                            help="Write the valid rows even if other rows have errors (those are left out).")
        parser.add_argument("--dry-run", action="store_true", help="Check and report only; change nothing.")
        parser.add_argument("--chunk-size", type=int, default=5_000, help="Rows checked and written per statement.")
        parser.add_argument("--encoding", default="utf-8-sig",
                            help="The file's encoding (default UTF-8, with or without BOM; e.g. cp1252).")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        organization = organization_by_slug(options["org"])
        if organization is None:
            raise CommandError(f"No organization with the slug {options['org']!r}.")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        self.kind, self.path, self.options = options["kind"], path, options
        self.progress_stream = self.stderr._out  # tqdm redraws with \r; OutputWrapper would add newlines
        actor = Actor()  # the system: a command is run by whoever operates the server

        with tenant_context(organization):
            rows, bad_rows = self._check(organization)
            if bad_rows and not options["only_valid"]:
                raise CommandError(f"{bad_rows:,} of {rows:,} row(s) have errors, so nothing was written. Fix them, "
                                   "or re-run with --only-valid to write the valid rows.")
            if options["dry_run"]:
                valid = rows - bad_rows
                self.stdout.write(self.style.SUCCESS(f"Dry run: {valid:,} valid row(s); nothing was written."))
                return
            with tqdm(total=rows, unit="rows", desc="Writing", file=self.progress_stream, leave=False) as bar:
                try:
                    result = signals_ingest_chunks(kind=self.kind, organization=organization, actor=actor,
                                                   chunks=self._chunks(), only_valid=options["only_valid"],
                                                   progress=bar.update)
                except SignalRowsInvalid as exc:  # the data changed between the check and the write
                    raise CommandError(f"{exc.messages[0]} First problem: row {exc.row_errors[0].row}: "
                                       f"{exc.row_errors[0].message}") from exc
        left_out = f" {bad_rows:,} row(s) with errors were left out." if bad_rows else ""
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {result.received:,} {self.kind} row(s) into {organization.slug}: {result.created:,} created, "
            f"{result.updated:,} updated, {result.unchanged:,} already received (ignored); health recompute queued "
            f"for {len(result.account_ids):,} account(s).{left_out}"))

    def _open(self):
        return self.path.open("rb")

    def _stream(self, stream):
        try:
            yield from iter_signal_csv(self.kind, stream, chunk_size=self.options["chunk_size"],
                                       encoding=self.options["encoding"])
        except ValueError as exc:  # a bad header, or bytes that are not in the encoding
            if isinstance(exc, UnicodeDecodeError):
                raise CommandError(f"The file is not {self.options['encoding']} ({exc.reason} at byte {exc.start} of "
                                   "a block). Save it as CSV UTF-8, or pass --encoding cp1252.") from exc
            raise CommandError(str(exc)) from exc

    def _check(self, organization) -> tuple[int, int]:
        """Pass 1: (rows, rows with errors); every problem written to FILE.errors.csv."""
        report_path = self.path.with_name(f"{self.path.stem}.errors.csv")
        rows = bad = shown = 0
        size = self.path.stat().st_size
        with self._open() as stream, report_path.open("w", encoding="utf-8-sig", newline="") as report, \
                tqdm(total=size, unit="B", unit_scale=True, desc="Checking", file=self.progress_stream,
                     leave=False) as bar:
            writer = csv.writer(report)
            writer.writerow(["row", "column", "value", "message"])
            for numbers, chunk, problems in self._stream(stream):
                _, errors = signals_prepare(kind=self.kind, organization=organization, rows=chunk, numbers=numbers,
                                            unknown_fields_are_errors=False)
                lines = [(p.row, p.column, p.value, p.message) for p in problems]
                lines += [(e.row, e.field or "", e.value, e.message) for e in errors]
                lines.sort(key=lambda line: line[0])
                if lines:
                    writer.writerows([safe_cell(v) for v in line] for line in lines)
                    for row, column, value, message in lines[:max(0, SHOWN_PROBLEMS - shown)]:
                        self.stdout.write(f"  error: row {row}{f' [{column}]' if column else ''}"
                                          f"{f' {value!r}' if value else ''}: {message}")
                    shown += len(lines)
                rows += len(numbers)
                bad += len({line[0] for line in lines})
                bar.update(stream.tell() - bar.n)
        self.stdout.write(f"{self.path.name}: {rows:,} row(s), {rows - bad:,} valid, {bad:,} with errors.")
        if shown > SHOWN_PROBLEMS:
            self.stdout.write(f"  … and {shown - SHOWN_PROBLEMS:,} more.")
        if bad:
            self.stdout.write(f"Every problem is in {report_path}")
        else:
            report_path.unlink(missing_ok=True)
        return rows, bad

    def _chunks(self):
        """Pass 2: the rows again, without the ones that could not even be read (too many cells)."""
        with self._open() as stream:
            for numbers, rows, problems in self._stream(stream):
                unreadable = {p.row for p in problems}
                if unreadable:
                    kept = [(n, r) for n, r in zip(numbers, rows, strict=True) if n not in unreadable]
                    numbers, rows = [n for n, _ in kept], [r for _, r in kept]
                yield numbers, rows
