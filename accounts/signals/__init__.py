"""Ingestion of the raw customer signals: daily product usage, survey responses and support tickets.

    rows.py      the row formats and their checks (pure: no database), shared by the API and CSV imports
    selectors.py reads: the API lists, and the set-wise lookups of the accounts and contacts rows name
    upsert.py    the INSERT … ON CONFLICT statements (one per 5,000 rows, counts of created/updated)
    services.py  signals_prepare (every check, then nothing or everything) and usage_ingest,
                 surveys_ingest, tickets_ingest (one transaction each, health recompute enqueued on commit)
"""
