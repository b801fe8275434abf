"""Token authentication, with the token → user lookup cached briefly.

Profiling the API under load (bench/, docs/benchmarks.md) showed the token
lookup as the one database query of a cached tweet read: most of that request's
time was spent waiting for it. The cache keeps only what authentication needs
(never the password hash), for NEXUS_AUTH_CACHE_SECONDS, and is invalidated at
once when the token is deleted or its user is saved or deleted (see
`auth_cache_connect`), so a revoked token or a deactivated user stops working
on the next request, not after the TTL.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django_redis import get_redis_connection
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token

from nexus.throttling import SAFE_METHODS, WRITE_COUNTED_ATTR, token_subject, write_rate, write_window_queue

CACHE_PREFIX = "auth:token:v1:"
# Loaded from the cache; any other field is deferred and loads from the database
# on first access, and save() then writes only these fields, so a cached user
# can never overwrite a password or a name with a stale value.
USER_FIELDS = ("id", "username", "is_active", "is_staff", "is_superuser")


def token_cache_key(key: str) -> str:
    # Hashed: the Redis keyspace never holds a usable token.
    return CACHE_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def _cache_get(key: str) -> dict | None:
    try:
        return cache.get(token_cache_key(key))
    except Exception:  # the cache is an optimisation: fall back to the database
        return None


def _cache_get_counting_write(key: str, request) -> dict | None:
    """`_cache_get`, and this write counted for the rate limit, in one Redis
    round trip (every write pays both, so they travel together); the throttle
    reads the count from the request. On a Redis error neither happens here:
    the user comes from the database and the throttle counts (or fails open)."""
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        pipe.get(cache.make_key(token_cache_key(key)))
        write_window_queue(pipe, subject=token_subject(key), duration=write_rate()[1])
        raw, count, _ = pipe.execute()
    except Exception:
        return None
    setattr(request, WRITE_COUNTED_ATTR, int(count))
    return None if raw is None else cache.client.decode(raw)


def _cache_set(key: str, values: dict) -> None:
    try:
        cache.set(token_cache_key(key), values, settings.NEXUS_AUTH_CACHE_SECONDS)
    except Exception:
        return


def token_cache_forget(keys: list[str]) -> None:
    if not keys:
        return
    try:
        cache.delete_many([token_cache_key(k) for k in keys])
    except Exception:
        return


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
        return self.authenticate_credentials(key, request)

    def authenticate_credentials(self, key: str, request=None):
        if settings.NEXUS_AUTH_CACHE_SECONDS <= 0:
            return super().authenticate_credentials(key)
        if settings.REDIS_URL and request is not None and request.method not in SAFE_METHODS:
            cached = _cache_get_counting_write(key, request)
        else:
            cached = _cache_get(key)
        if cached is None:
            user, token = super().authenticate_credentials(key)  # 401 for unknown keys and inactive users
            _cache_set(key, {f: getattr(user, f) for f in USER_FIELDS})
            return user, token
        user_model = get_user_model()
        # from_db wants the loaded values in the model's field order.
        names = [f.attname for f in user_model._meta.concrete_fields if f.attname in cached]
        user = user_model.from_db("default", names, [cached[n] for n in names])
        token = Token.from_db("default", ("key", "user_id"), (key, user.pk))
        return user, token

    def authenticate_header(self, request) -> str:
        return "Bearer"


def _forget_user_tokens(sender, instance, **kwargs) -> None:
    token_cache_forget(list(Token.objects.filter(user_id=instance.pk).values_list("key", flat=True)))


def _forget_token(sender, instance, **kwargs) -> None:
    token_cache_forget([instance.key])


def auth_cache_connect() -> None:
    """Invalidate on every change of a user or token, wherever it is made (admin,
    shell, a service): signals are the one hook all of those go through."""
    user_model = get_user_model()
    post_save.connect(_forget_user_tokens, sender=user_model, dispatch_uid="nexus-auth-user-saved")
    post_delete.connect(_forget_user_tokens, sender=user_model, dispatch_uid="nexus-auth-user-deleted")
    post_save.connect(_forget_token, sender=Token, dispatch_uid="nexus-auth-token-saved")
    post_delete.connect(_forget_token, sender=Token, dispatch_uid="nexus-auth-token-deleted")
