"""Import accounts and contacts from a CSV, the same two phases as the import page.

    manage.py import_accounts FILE --org SLUG [--only-valid] [--dry-run]

Validates every row, prints the report summary, writes the problems next to the file (FILE.errors.csv, one
line per problem; FILE.rejected.csv, the rejected rows as uploaded, ready to fix and re-import), then
commits in one transaction. Exits non-zero when errors block the import (or would, with --dry-run).
"""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.imports.kinds import ACCOUNTS, import_kind
from accounts.imports.selectors import import_commit_event, import_rejected_rows, import_report_rows
from accounts.imports.services import import_blocking_reason, import_commit, import_discard, import_validate
from csops.exports import write_csv
from csops.tenancy.context import tenant_context
from csops.tenancy.selectors import organization_by_slug
from csops.tenancy.services import Actor

SHOWN_PROBLEMS = 20


class Command(BaseCommand):
    help = "Import accounts and contacts from a CSV file into one organization (validate, then commit)."
    kind = ACCOUNTS  # the import kind (accounts/imports/kinds.py); other apps' commands subclass this one

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the CSV file (the format of the import page's template).")
        parser.add_argument("--org", required=True, help="Slug of the organization to import into.")
        parser.add_argument("--only-valid", action="store_true",
                            help="Import the valid rows even if other rows have errors (those are left out).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report only; change nothing.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        organization = organization_by_slug(options["org"])
        if organization is None:
            raise CommandError(f"No organization with the slug {options['org']!r}.")
        data = path.read_bytes()
        actor = Actor()  # the system: a command is run by whoever operates the server
        progress_stream = self.stderr._out  # tqdm redraws with \r; OutputWrapper would add newlines

        with tenant_context(organization):
            with tqdm(total=max(data.count(b"\n"), 1), unit="rows", desc="Validating", file=progress_stream,
                      leave=False) as bar:
                batch = import_validate(organization=organization, actor=actor, file_name=path.name, data=data,
                                        progress=bar.update, kind=self.kind)
            self._report(batch, path)
            reason = import_blocking_reason(batch, only_valid_rows=options["only_valid"])
            if options["dry_run"] or reason:
                import_discard(batch=batch, actor=actor)
                if reason:
                    hint = (" Re-run with --only-valid to import the valid rows."
                            if batch.error_rows and batch.valid_rows and not options["only_valid"] else "")
                    raise CommandError(f"{reason}{hint}")
                self.stdout.write(self.style.SUCCESS("Dry run: the file is valid; nothing was imported."))
                return

            with tqdm(total=batch.valid_rows, unit="objects", desc="Importing", file=progress_stream,
                      leave=False) as bar:
                def on_progress(done, total):
                    bar.total = total
                    bar.n = done
                    bar.refresh()

                batch = import_commit(batch=batch, actor=actor, only_valid_rows=options["only_valid"],
                                      progress=on_progress)
        left_out = f" {batch.error_rows} row(s) with errors were left out." if batch.only_valid_rows else ""
        kind = import_kind(self.kind)
        if kind.describe is not None:
            with tenant_context(organization):
                event = import_commit_event(batch=batch)
            self.stdout.write(self.style.SUCCESS(
                f"Imported {batch.valid_rows} row(s) into {organization.slug}: "
                f"{kind.describe((event.after or {}) if event else {})}{left_out}"))
            return
        self.stdout.write(self.style.SUCCESS(
            f"Imported {batch.valid_rows} row(s) into {organization.slug}: {batch.created_count} account(s) created, "
            f"{batch.updated_count} updated; {batch.contacts_created} contact(s) created, "
            f"{batch.contacts_updated} updated.{left_out}"
        ))

    def _report(self, batch, path: Path) -> None:
        self.stdout.write(f"{path.name}: {batch.total_rows} row(s), {batch.valid_rows} valid, "
                          f"{batch.error_rows} with errors.")
        if not batch.errors:
            return
        for problem in batch.errors[:SHOWN_PROBLEMS]:
            where = f"row {problem['row']}" if problem["row"] is not None else "file"
            column = f" [{problem['column']}]" if problem["column"] else ""
            value = f" {problem['value']!r}" if problem["value"] else ""
            self.stdout.write(f"  {problem.get('level', 'error')}: {where}{column}{value}: {problem['message']}")
        if len(batch.errors) > SHOWN_PROBLEMS:
            self.stdout.write(f"  … and {len(batch.errors) - SHOWN_PROBLEMS} more.")
        report_path = path.with_name(f"{path.stem}.errors.csv")
        header, rows = import_report_rows(batch=batch)
        with report_path.open("w", encoding="utf-8-sig", newline="") as stream:
            write_csv(stream, header, rows)
        self.stdout.write(f"Report written to {report_path}")
        if batch.error_rows:
            rejected_path = path.with_name(f"{path.stem}.rejected.csv")
            header, rows = import_rejected_rows(batch=batch)
            with rejected_path.open("w", encoding="utf-8-sig", newline="") as stream:
                write_csv(stream, header, rows)
            self.stdout.write(f"Rejected rows written to {rejected_path} (fix them and import that file again)")
