"""Reporting reads for pages: the outbox, opt-outs, company updates."""
from django.db.models import QuerySet

from .models import CompanyUpdate, EmailKind, EmailOptOut, OutboxMessage


def outbox_list(*, kind: str = "", status: str = "", period: str = "") -> QuerySet[OutboxMessage]:
    qs = OutboxMessage.objects.defer("body_text", "body_html").order_by("-created_at", "to_email")
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if period:
        qs = qs.filter(period=period)
    return qs


def outbox_message_get(*, message_id) -> OutboxMessage | None:
    return OutboxMessage.objects.filter(pk=message_id).first()


def outbox_periods() -> list[str]:
    return list(OutboxMessage.objects.order_by("-period").values_list("period", flat=True).distinct()[:26])


def opted_out_kinds(*, user) -> set[str]:
    return set(EmailOptOut.objects.filter(user=user).values_list("kind", flat=True))


def email_kinds() -> list[tuple[str, str]]:
    return list(EmailKind.choices)


def company_update_list() -> QuerySet[CompanyUpdate]:
    return CompanyUpdate.objects.select_related("author").order_by("-created_at")


def company_update_get(*, update_id) -> CompanyUpdate | None:
    return CompanyUpdate.objects.filter(pk=update_id).first()
