"""gunicorn settings and hooks (gunicorn reads ./gunicorn.conf.py from the
working directory — the repo root, /app in the image; docker-compose names it).
Command-line flags (docker-compose, scripts/run_demo.sh) override the settings.

prometheus-client's multiprocess mode (nexus/metrics.py): every worker writes
its metrics to files in PROMETHEUS_MULTIPROC_DIR and /metrics sums them. The
master empties the directory when it starts (a previous run's files would be
summed in) and marks a dead worker's files. Without the variable these hooks
do nothing (make run, the bench).

Errors gunicorn answers itself — a request line over limit_request_line (414),
too many or too large headers (431), a malformed request (400) — go out in the
API's JSON error shape instead of gunicorn's HTML page.
"""

import json
import os
from pathlib import Path

from gunicorn import util
from prometheus_client import multiprocess

# Django answers request lines up to NEXUS_MAX_URL_BYTES (4096) itself; gunicorn
# refuses longer ones before the app sees them (8190 is gunicorn's maximum).
limit_request_line = 8190
# A worker stuck past this is restarted; every dependency call has its own
# much shorter timeout (settings: STORAGE_*, REDIS_*, BROKER_*, DB_CONNECT_TIMEOUT).
timeout = 30
graceful_timeout = 20


def _metrics_dir() -> Path | None:
    # Read here, not from Django settings: the master process never loads Django.
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def on_starting(server) -> None:
    directory = _metrics_dir()
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()


def child_exit(server, worker) -> None:
    if _metrics_dir() is not None:
        multiprocess.mark_process_dead(worker.pid)


_CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "request_header_fields_too_large",
    500: "server_error",
    501: "not_implemented",
}


def write_json_error(sock, status_int, reason, mesg):
    body = json.dumps({"detail": mesg or reason, "code": _CODES.get(status_int, "error")}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin1")
    util.write_nonblock(sock, head + body)


# gunicorn's workers call util.write_error for the errors above; workers are
# forked from the process that read this file, so they inherit the JSON writer.
util.write_error = write_json_error
