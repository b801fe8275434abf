"""The operator's Celery commands: the beat schedule is sane, and `celery -A
nexus beat` / `celery -A nexus worker` start from the environment alone and
log JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

CELERY = str(Path(sys.executable).with_name("celery"))
ROOT = Path(settings.BASE_DIR)


def _seconds(schedule) -> float:
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    if isinstance(schedule, int | float):
        return float(schedule)
    return schedule.run_every.total_seconds()  # celery.schedules.schedule / crontab-like


def test_every_beat_entry_expires_before_its_next_run():
    assert settings.CELERY_BEAT_SCHEDULE, "no periodic jobs configured"
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        expires = entry.get("options", {}).get("expires")
        assert expires is not None, f"{name} has no expires: a stalled worker would pile up copies"
        assert 0 < float(expires) <= _seconds(entry["schedule"]), f"{name}: expires {expires} > its interval"


def test_every_beat_entry_names_a_registered_task():
    from nexus.celery import app

    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, f"{name}: task {entry['task']} is not registered"


def _run_until(args: list[str], tmp_path: Path, wanted: str, *, limit: float = 90) -> list[str]:
    """Start a celery command with a clean environment of our own; return its
    output lines up to the first one containing `wanted`, then stop it."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(NEXUS_VAR_DIR=str(tmp_path), LOG_FORMAT="json", LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [CELERY, "-A", "nexus", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + limit
    try:
        for line in proc.stdout:
            lines.append(line.rstrip())
            if wanted in line or time.monotonic() > deadline:
                break
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert any(wanted in line for line in lines), "\n".join(lines[-30:])
    return lines


def _json_lines(lines: list[str]) -> list[dict]:
    out = []
    for line in lines:
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


@pytest.mark.worker
def test_beat_starts_from_the_environment_and_sends_due_tasks(tmp_path):
    lines = _run_until(
        ["beat", "--max-interval", "1", "--schedule", str(tmp_path / "beat-schedule")],
        tmp_path,
        "Sending due task",
    )
    logged = _json_lines(lines)
    assert any(entry["message"].startswith("Scheduler: Sending due task") for entry in logged)
    assert (tmp_path / "celery" / "queue").is_dir()  # the embedded broker lives under NEXUS_VAR_DIR


@pytest.mark.worker
def test_worker_starts_from_the_environment(tmp_path):
    lines = _run_until(
        ["worker", "--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        tmp_path,
        " ready.",
    )
    assert any(entry["message"].endswith(" ready.") for entry in _json_lines(lines))
