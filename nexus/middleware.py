"""Browser middleware that the token-authenticated JSON API skips.

/api/v1/ is stateless JSON authenticated by token (SPEC §2): it has no use for
a session, Django's `request.user` (DRF authenticates on its own), flash
messages or simple-history's request hook (the services name the actor of
every change they record).
Running them anyway cost about 7% of a post's Python time in the bench
profile (docs/benchmarks.md). The admin, the operator dashboard and the API
docs keep all of them. CSRF and X-Frame-Options stay in the chain for every
path: DRF's views are CSRF-exempt and its check for pages needs the view;
the deploy check wants Django's own clickjacking middleware.
"""

from __future__ import annotations

from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from simple_history import middleware as history_middleware

API_PREFIX = "/api/v1/"


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


class _PagesOnly:
    def __call__(self, request):
        if is_api_request(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_PagesOnly, sessions_middleware.SessionMiddleware):
    pass


class AuthenticationMiddleware(_PagesOnly, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(_PagesOnly, messages_middleware.MessageMiddleware):
    pass


def HistoryRequestMiddleware(get_response):  # noqa: N802 - a middleware factory, named like the one it wraps
    pages = history_middleware.HistoryRequestMiddleware(get_response)

    def middleware(request):
        return get_response(request) if is_api_request(request) else pages(request)

    return middleware
