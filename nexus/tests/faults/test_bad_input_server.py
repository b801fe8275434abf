"""Bad input against the real server (gunicorn in front of the app): every
answer is the JSON error shape with the right status, never a 5xx or HTML
(issue 14 items 3 and 6), and a database outage on writes is a 503 JSON with
Retry-After that heals without a restart."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from nexus.tests.faults.harness import bearer, is_json_error, proxy_restart, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.postgres]


def raw_request(port: int, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send a request byte for byte (a body may be cut short: the server must
    answer from the headers) and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    header_block, _, payload = data.partition(b"\r\n\r\n")
    lines = header_block.decode("latin1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while payload:
            size_line, _, rest = payload.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            body, payload = body + rest[:size], rest[size + 2 :]
        payload = body
    return int(lines[0].split()[1]), headers, payload


def _json_error(status: int, headers: dict[str, str], payload: bytes) -> dict:
    assert headers.get("content-type", "").startswith("application/json"), (status, headers, payload[:200])
    body = json.loads(payload)
    assert isinstance(body["detail"], str) and isinstance(body["code"], str)
    return body


def test_bad_inputs_are_answered_in_json_with_the_right_status(make_stack, tokens):
    stack = make_stack()
    web = stack.start_web()
    port = web.port  # type: ignore[attr-defined]
    auth = bearer(tokens["alice"])
    seen: dict[str, int] = {}

    def check(name: str, response: requests.Response, status: int) -> None:
        seen[name] = response.status_code
        assert response.status_code == status, (name, response.status_code, response.text[:300])
        assert is_json_error(response), (name, response.text[:300])

    check("NUL in path", requests.get(f"{stack.url}/api/v1/users/%00/tweets", timeout=10), 400)
    check("NUL in query", requests.get(f"{stack.url}/api/v1/search?q=a%00b", timeout=10), 400)
    for depth in (1_000, 100_000):
        nested = '{"text": ' + "[" * depth + "]" * depth + "}"
        check(
            f"JSON nested {depth}",
            requests.post(
                f"{stack.url}/api/v1/tweets",
                data=nested,
                headers={**auth, "Content-Type": "application/json"},
                timeout=10,
            ),
            400,
        )
    check(
        "invalid UTF-8 form",
        requests.post(
            f"{stack.url}/api/v1/tweets",
            data=b"text=caf%E9%FF",
            headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        ),
        400,
    )
    ids = ",".join(["1234567890123456789"] * 250)  # ~5 KB: the app's limit
    check("request line 5 KB", requests.get(f"{stack.url}/api/v1/tweets?ids={ids}", timeout=10), 414)

    # ~9 KB: past gunicorn's own limit, answered by gunicorn (in JSON: gunicorn.conf.py).
    long_path = "/api/v1/tweets?ids=" + ",".join(["1234567890123456789"] * 450)
    status, headers, payload = raw_request(port, f"GET {long_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    seen["request line 9 KB"] = status
    assert status == 414 and _json_error(status, headers, payload)["code"] == "uri_too_long"

    # Oversized bodies: declared 5 MB and 50 MB, answered from the headers.
    for megabytes in (5, 50):
        head = (
            f"POST /api/v1/tweets HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth['Authorization']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {megabytes * 1024 * 1024}\r\nConnection: close\r\n\r\n"
        ).encode()
        status, headers, payload = raw_request(port, head, b'{"text": "' + b"x" * 65536)
        seen[f"body {megabytes} MB"] = status
        assert status == 413 and _json_error(status, headers, payload)["code"] == "too_large"

    print("\nbad input statuses:", json.dumps(seen))
    assert requests.get(f"{stack.url}/healthz", timeout=5).status_code == 200  # nothing took the server down


def test_a_database_outage_on_writes_is_503_json_and_heals_without_a_restart(make_stack, tokens):
    stack = make_stack(db_proxy=True)
    stack.start_web()
    auth = bearer(tokens["alice"])
    post = lambda text: requests.post(f"{stack.url}/api/v1/tweets", json={"text": text}, headers=auth, timeout=10)  # noqa: E731
    assert post("before").status_code == 201

    stack.db_proxy.stop()  # connections refused, open ones cut
    during = [post(f"during {i}") for i in range(5)]
    ready = requests.get(f"{stack.url}/readyz", timeout=2)  # answers within 2 s or raises

    for response in during:
        assert response.status_code == 503, response.text[:300]
        assert is_json_error(response) and int(response.headers["Retry-After"]) >= 1
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == {"ok": False}

    stack.db_proxy = proxy_restart(stack.procs, stack.db_proxy)
    started = time.monotonic()
    assert wait_for(lambda: post("after").status_code == 201, 30), stack.web.tail()
    recovered = time.monotonic() - started
    print(
        f"\ndatabase outage: {len(during)} writes, statuses {sorted({r.status_code for r in during})}, "
        f"recovered {recovered:.1f} s after the database came back"
    )
