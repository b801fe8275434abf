"""gunicorn settings read from the working directory (the repo root, /app in
the image). Command-line flags (docker-compose, scripts/run_demo.sh) override.

Errors gunicorn answers itself — a request line over limit_request_line (414),
too many or too large headers (431), a malformed request (400) — go out in the
API's JSON error shape instead of gunicorn's HTML page.
"""

import json

from gunicorn import util

# Django answers request lines up to NEXUS_MAX_URL_BYTES (4096) itself; gunicorn
# refuses longer ones before the app sees them (8190 is gunicorn's maximum).
limit_request_line = 8190
# A worker stuck past this is restarted; every dependency call has its own
# much shorter timeout (settings: STORAGE_*, REDIS_*, BROKER_*, DB_CONNECT_TIMEOUT).
timeout = 30
graceful_timeout = 20

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
