"""Reads of the signal tables, inside the tenant context (the tenant managers scope every query)."""
from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from accounts.imports.selectors import chunked
from accounts.models import Account, Contact, SupportTicket, SurveyResponse, UsageRecord


def usage_record_list() -> QuerySet[UsageRecord]:
    """Every usage row of the organization with its account's CRM id (the API filters and pages it)."""
    return UsageRecord.objects.select_related("account").only(
        "id", "account_id", "account__external_id", "date", "metric", "value", "received_at")


def survey_response_list() -> QuerySet[SurveyResponse]:
    return SurveyResponse.objects.select_related("account", "contact").only(
        "id", "external_id", "account_id", "account__external_id", "contact_id", "contact__email", "kind", "score",
        "responded_at", "comment", "received_at")


def support_ticket_list() -> QuerySet[SupportTicket]:
    return SupportTicket.objects.select_related("account").only(
        "id", "external_id", "account_id", "account__external_id", "subject", "priority", "status", "escalated",
        "opened_at", "closed_at", "received_at", "updated_at")


def signal_accounts_resolve(
    *, ids: Iterable[uuid.UUID], external_ids: Iterable[str]
) -> tuple[dict[uuid.UUID, uuid.UUID], dict[str, uuid.UUID]]:
    """({account id: id}, {external_id: id}) for the accounts of the organization among these references.

    One query for a request of 5,000 rows (a chunk per 10,000 references beyond that)."""
    ids, external_ids = list(set(ids)), list(set(external_ids))
    by_id: dict[uuid.UUID, uuid.UUID] = {}
    by_external: dict[str, uuid.UUID] = {}
    size = max(len(ids), len(external_ids), 1)
    for start in range(0, size, 10_000):
        id_chunk, ext_chunk = ids[start:start + 10_000], external_ids[start:start + 10_000]
        if not id_chunk and not ext_chunk:
            continue
        condition = Q(pk__in=id_chunk) if id_chunk else Q()
        if ext_chunk:
            condition = condition | Q(external_id__in=ext_chunk) if id_chunk else Q(external_id__in=ext_chunk)
        for pk, external_id in Account.objects.filter(condition).order_by().values_list("id", "external_id"):
            by_id[pk] = pk
            if external_id is not None:
                by_external[external_id] = pk
    return by_id, by_external


def signal_contacts_resolve(
    *, ids: Iterable[uuid.UUID], account_emails: Iterable[tuple[uuid.UUID, str]]
) -> tuple[dict[uuid.UUID, uuid.UUID], dict[tuple[uuid.UUID, str], uuid.UUID]]:
    """({contact id: its account id}, {(account id, lower-case e-mail): contact id}) for the contacts of
    the organization among these references: two queries at most."""
    by_id: dict[uuid.UUID, uuid.UUID] = {}
    for chunk in chunked(list(set(ids))):
        by_id.update(Contact.objects.filter(pk__in=chunk).order_by().values_list("id", "account_id"))
    wanted = set(account_emails)
    by_email: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
    if wanted:
        # The contacts of those accounts (a handful each), matched here: contacts keep e-mails as typed.
        for chunk in chunked(list({a for a, _ in wanted})):
            rows = Contact.objects.filter(account_id__in=chunk).exclude(email="").order_by().values_list(
                "id", "account_id", "email")
            for pk, account_id, email in rows:
                key = (account_id, email.lower())
                if key in wanted:
                    by_email.setdefault(key, pk)
    return by_id, by_email

