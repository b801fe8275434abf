"""Database helpers shared by the apps."""

from __future__ import annotations

import psycopg
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


class _PreparedCursorDebugWrapper(CursorDebugWrapper):
    """Logs the statement as written: after a prepared execution psycopg keeps
    no query text for Django's last_executed_query to report."""

    def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
        return super().debug_sql(sql, params, use_last_executed_query=False, many=many)


def prepared_cursor() -> CursorWrapper:
    """A PostgreSQL cursor with server-side parameter binding, so psycopg
    prepares its statements on the server (settings: DB_PREPARED_STATEMENTS):
    a long statement on the hot path is then parsed and planned once per
    connection instead of on every request. Queries still go through Django's
    wrapper (logging, assertNumQueries, error translation). Placeholders are
    psycopg's (%s / %(name)s) and parameters must carry their types (cast
    NULLs and arrays in the SQL)."""
    # What connection.cursor() does before creating its (client-binding) cursor.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return _PreparedCursorDebugWrapper(raw, connection)
    return CursorWrapper(raw, connection)
