"""Import contract lines from a CSV, the same two phases as the import page (kind "contracts").

    manage.py import_contracts FILE --org SLUG [--only-valid] [--dry-run]

Validates every row (progress bar), prints the report summary, writes the problems next to the file
(FILE.errors.csv; FILE.rejected.csv with the rejected rows, ready to fix and re-import), then commits in one
transaction: contract lines upserted on external_id, account ARR re-derived from the lines, renewals synced.
Exits non-zero when errors block the import (or would, with --dry-run). The format: renewals/imports.py.
"""
from accounts.management.commands.import_accounts import Command as ImportAccountsCommand
from renewals.imports import KIND


class Command(ImportAccountsCommand):
    help = "Import contract lines from a CSV file into one organization (validate, then commit)."
    kind = KIND
