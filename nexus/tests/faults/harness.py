"""Real processes for the fault suite: a Redis of our own, a moto S3 server,
TCP proxies that can refuse or hang, gunicorn and a Celery worker. Every
process runs in its own session so a test can kill -9 it (and its children)
and the fixture can stop whatever is left."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
PROXY_SCRIPT = Path(__file__).with_name("tcp_proxy.py")
S3_BUCKET = "nexus-faults"
S3_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.1):
    """Poll until predicate() is truthy; returns its value, or None at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(requests.RequestException):
            value = predicate()
            if value:
                return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Proc:
    """One process (group) we started."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] | None = None
    popen: subprocess.Popen | None = None

    def start(self) -> Proc:
        handle = open(self.log, "ab")  # noqa: SIM115 - owned by the process
        self.popen = subprocess.Popen(
            self.argv,
            cwd=REPO,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def kill9(self) -> None:
        """kill -9 the whole group (a worker's pool children too), as the OOM killer would."""
        self.signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(10)
        self.killed = True

    def stop(self) -> None:
        if self.popen is None:
            return
        self.signal(signal.SIGCONT)  # a stopped process cannot handle SIGTERM
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(10)
        # Its children (pool processes, gunicorn workers) share the group.
        self.signal(signal.SIGKILL)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Processes:
    """What a test started; stop_all() in reverse order, whatever happened."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[Proc] = []

    def add(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        return proc.start()

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def redis_server(procs: Processes, name: str, port: int | None = None) -> Proc:
    port = port or free_port()
    proc = Proc(
        name,
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        procs.tmp / f"{name}.log",
    )
    proc.port = port  # type: ignore[attr-defined]
    procs.add(proc)
    assert wait_for(lambda: port_open(port), 10), proc.tail()
    return proc


def tcp_proxy(procs: Processes, name: str, target_port: int, port: int | None = None) -> Proc:
    port = port or free_port()
    proc = Proc(
        name,
        [sys.executable, str(PROXY_SCRIPT), str(port), "127.0.0.1", str(target_port)],
        procs.tmp / f"{name}.log",
    )
    proc.port = port  # type: ignore[attr-defined]
    procs.add(proc)
    assert wait_for(lambda: port_open(port), 10), proc.tail()
    return proc


def proxy_restart(procs: Processes, proxy: Proc) -> Proc:
    """A refusing proxy (killed) comes back on the same port."""
    return tcp_proxy(procs, proxy.name, int(proxy.argv[-1]), port=proxy.port)  # type: ignore[attr-defined]


def moto_s3(procs: Processes) -> Proc:
    port = free_port()
    proc = Proc("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], procs.tmp / "moto.log")
    proc.port = port  # type: ignore[attr-defined]
    procs.add(proc)
    assert wait_for(lambda: port_open(port), 20), proc.tail()
    import boto3

    boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=S3_BUCKET)
    return proc


@dataclass
class Stack:
    """gunicorn + Celery worker (with beat) on the given environment."""

    procs: Processes
    env: dict[str, str]
    web: Proc | None = None
    workers: list[Proc] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web.port}"  # type: ignore[union-attr]

    def start_web(self, threads: int = 8) -> Proc:
        port = free_port()
        self.web = Proc(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "nexus.wsgi:application",
                "-c",
                str(REPO / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                str(threads),
            ],
            self.procs.tmp / "gunicorn.log",
            env=self.env,
        )
        self.web.port = port  # type: ignore[attr-defined]
        self.procs.add(self.web)
        assert wait_for(lambda: requests.get(f"{self.url}/healthz", timeout=2).ok, 60), self.web.tail()
        return self.web

    def start_worker(self) -> Proc:
        n = len(self.workers) + 1
        worker = Proc(
            f"worker-{n}",
            [
                str(BIN / "celery"),
                "-A",
                "nexus",
                "worker",
                "--beat",
                "--schedule",
                str(self.procs.tmp / f"beat-{n}"),
                "--concurrency",
                "2",
                "--hostname",
                f"faults-{n}@%h",
                "--loglevel",
                "INFO",
            ],
            self.procs.tmp / f"worker-{n}.log",
            env=self.env,
        )
        self.procs.add(worker)
        self.workers.append(worker)
        assert wait_for(lambda: " ready" in worker.log.read_text(errors="replace"), 60), worker.tail()
        return worker

    def supervise(self) -> int:
        """What a process supervisor (compose's restart policy) does: replace
        workers that exited. Returns how many were restarted."""
        dead = [w for w in self.workers if not w.alive and not getattr(w, "killed", False)]
        for worker in dead:
            worker.killed = True  # type: ignore[attr-defined] - replaced once
            self.start_worker()
        return len(dead)

    def manage(self, *args: str, extra_env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def is_json_error(response: requests.Response) -> bool:
    try:
        body = response.json()
    except json.JSONDecodeError:
        return False
    return isinstance(body, dict) and isinstance(body.get("detail"), str) and isinstance(body.get("code"), str)
