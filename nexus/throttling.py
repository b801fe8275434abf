import logging

from django.conf import settings
from rest_framework.throttling import UserRateThrottle

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
logger = logging.getLogger(__name__)


class WriteRateThrottle(UserRateThrottle):
    """Per-user limit on writes only (NEXUS_WRITE_RATE, DRF rate syntax)."""

    scope = "write"

    def get_rate(self) -> str:
        return settings.NEXUS_WRITE_RATE

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS or not request.user.is_authenticated:
            return True
        # Re-read the rate per request so an operator's override takes effect.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache is down: a write must not fail on its rate limiter
            logger.warning("write throttle unavailable (cache error); allowing request", exc_info=True)
            return True
