"""One DRF authentication for every route: Nexus API tokens (DRF's authtoken,
40 hex digits) and the OAuth 2 access tokens django-oauth-toolkit issues to
Mastodon clients, both as `Authorization: Bearer <token>`.

OAuth scopes are enforced here, for the native and the Mastodon routes alike:
a safe method needs the `read` family, anything else the `write` family
(`read:statuses` counts as `read`). A Nexus API token is a full-access token."""

from __future__ import annotations

import hashlib
import string

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.models import AccessToken
from rest_framework import exceptions

from nexus.auth import BearerTokenAuthentication
from nexus.throttling import SAFE_METHODS

NEXUS_TOKEN_LENGTH = 40  # rest_framework.authtoken: 20 random bytes in hex
OUTSIDE_SCOPES = "This action is outside the authorized scopes"


def is_nexus_token(key: str) -> bool:
    return len(key) == NEXUS_TOKEN_LENGTH and all(c in string.hexdigits for c in key)


def access_token_load(key: str) -> AccessToken | None:
    """The OAuth access token for `key` (stored as a checksum, never in clear)."""
    checksum = hashlib.sha256(key.encode()).hexdigest()
    return AccessToken.objects.select_related("user").filter(token_checksum=checksum).first()


def scope_families(scope: str) -> set[str]:
    return {s.split(":", 1)[0] for s in scope.split()}


def scope_check(method: str, scope: str) -> None:
    needed = "read" if method in SAFE_METHODS else "write"
    if needed not in scope_families(scope):
        raise exceptions.PermissionDenied(OUTSIDE_SCOPES)


class BearerAuthentication(BearerTokenAuthentication):
    """`nexus.auth.BearerTokenAuthentication` (cached, counts writes), and OAuth tokens beside it."""

    def authenticate_credentials(self, key: str, request=None):
        if is_nexus_token(key):
            return super().authenticate_credentials(key, request)
        token = access_token_load(key)
        if token is None or token.is_expired():
            raise exceptions.AuthenticationFailed("Invalid token.")  # the message DRF gives for its own tokens
        if request is not None:
            scope_check(request.method, token.scope)
        if token.user_id is None:  # a client_credentials token: the app, no user
            return AnonymousUser(), token
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("Your login is currently disabled")
        return token.user, token
