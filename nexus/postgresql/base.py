"""Django's PostgreSQL backend, with the health check skipped for a connection
that has just proved itself.

With CONN_HEALTH_CHECKS, Django pings a persistent connection (SELECT 1) before
its first query in every request: one more round trip for every request, which
on the post path under load cost as much CPU as the rest of a Redis call. A
connection that ended a request without an error less than
DB_HEALTH_CHECK_BYPASS_SECONDS ago is not pinged again; an idle one is, as
before. The same trade HikariCP makes with its aliveBypassWindowMs (500 ms by
default): a server that dies inside that window fails the next request's first
query instead of being caught by the ping, and Django then drops the connection
at the end of that request as it does for any connection error.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    # When this connection last finished a request (or task) in which it was
    # used without an error; None until then.
    proven_at: float | None = None

    def connect(self) -> None:
        self.proven_at = None
        super().connect()

    def close_if_unusable_or_obsolete(self) -> None:
        # Called at both ends of a request; only at the end has the connection
        # passed (or skipped) its check, which is how the two are told apart.
        used = self.health_check_done
        super().close_if_unusable_or_obsolete()
        if used and self.connection is not None and not self.errors_occurred:
            self.proven_at = time.monotonic()

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and not self.health_check_done
            and self.proven_at is not None
            and time.monotonic() - self.proven_at < settings.DB_HEALTH_CHECK_BYPASS_SECONDS
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
