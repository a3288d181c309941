"""Every API error is JSON of one shape: {"detail": str, "code": str, "errors": {field: [messages]}}."""
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from csops.tenancy.context import TenantContextMissing


def _as_list(value):
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def json_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, TenantContextMissing):
        raise exc  # a programming error: let it surface as a 500 and in the logs, never as data

    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        errors = {k: (v if isinstance(v, dict | list) and not isinstance(v, str) else _as_list(v))
                  for k, v in errors.items()}
        body = {"detail": "Invalid input.", "code": "invalid", "errors": errors}
    else:
        detail = data.get("detail", "") if isinstance(data, dict) else data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = {"detail": str(detail), "code": code, "errors": {}}
    response.data = body
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return Response(body, status=response.status_code, headers=dict(response.items()))
