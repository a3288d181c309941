from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from csops.tenancy.models import ApiToken
from csops.tenancy.services import api_token_touch, split_token, token_matches


class TokenPrincipal:
    """request.user for token-authenticated requests: authenticated, but not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, token: ApiToken):
        self.token = token

    def __str__(self) -> str:
        return f"token:{self.token.prefix}"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        parts = split_token(header[1])
        token = None
        if parts:
            token = ApiToken.objects.select_related("organization").filter(prefix=parts[0]).first()
        if token is None or not token_matches(token, parts[1]):
            raise exceptions.AuthenticationFailed("Invalid API token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API token was revoked.")
        if token.expires_at is not None and token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed("This API token has expired.")
        api_token_touch(token=token)
        return TokenPrincipal(token), token

    def authenticate_header(self, request):
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "csops.tenancy.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "csops_<prefix>_<secret>"}
