"""Mastodon's rate-limit headers on every response.

`X-RateLimit-Limit` is the write limit (NEXUS_WRITE_RATE); a write reports
what is left of its user's current window, as the write throttle counted it
(nexus.throttling), and when that window ends. Reads are not rate-limited in
Nexus: a read reports the whole budget left."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from nexus.throttling import SAFE_METHODS, WRITE_COUNTED_ATTR, write_rate

WINDOW_ENDS_ATTR = "_nexus_write_window_ends"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RateLimitHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "X-RateLimit-Limit" in response:
            return response
        allowed, duration = write_rate()
        used = getattr(request, WRITE_COUNTED_ATTR, None) if request.method not in SAFE_METHODS else None
        response["X-RateLimit-Limit"] = str(allowed)
        response["X-RateLimit-Remaining"] = str(max(0, allowed - (used or 0)))
        response["X-RateLimit-Reset"] = _iso(getattr(request, WINDOW_ENDS_ATTR, None) or time.time() + duration)
        return response
