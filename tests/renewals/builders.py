"""Small builders for the renewals tests: ledger frames by hand, contract lines in the database."""
import datetime as dt
from decimal import Decimal

import pandas as pd

from renewals.ledger import LINE_COLUMNS

D = dt.date


def cents(amount) -> int:
    return int(Decimal(str(amount)) * 100)


def frame(*lines) -> pd.DataFrame:
    """lines: (account, start, end or None, ARR in currency units[, is_recurring]) → the ledger's input."""
    rows = [
        (account, start, end, cents(arr), recurring[0] if recurring else True)
        for account, start, end, arr, *recurring in lines
    ]
    return pd.DataFrame.from_records(rows, columns=list(LINE_COLUMNS))


def by_account(moves: pd.DataFrame) -> dict:
    """movements() as {account: (r0 in units, r1 in units, kind)} for readable assertions."""
    return {
        row.account_id: (Decimal(row.r0_cents) / 100, Decimal(row.r1_cents) / 100, row.kind)
        for row in moves.itertuples()
    }
