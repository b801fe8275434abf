from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header


class BearerTokenAuthentication(TokenAuthentication):
    """`Authorization: Bearer <token>`, and DRF's `Token <token>` as well."""

    keywords = (b"bearer", b"token")

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: expected '<scheme> <token>'.")
        try:
            key = parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token header: token is not ASCII.") from exc
        return self.authenticate_credentials(key)

    def authenticate_header(self, request) -> str:
        return "Bearer"
