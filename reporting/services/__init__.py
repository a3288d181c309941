"""Reporting writes: the email outbox (``outbox``) and the weekly emails that fill it (``weekly``)."""
