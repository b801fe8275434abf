"""The lifecycle keep-up run (issue 15): posts at a constant rate while beat
and a Celery worker move tweets with shortened tier ages; samples the
lifecycle lag (oldest due move), the tiers and the segments every few
seconds, and prints one JSON line of results.

    DATABASE_URL=postgres://…/db REDIS_URL=redis://…/n CELERY_BROKER_URL=redis://…/m \\
        .venv/bin/python bench/keepup.py

Knobs (environment): KEEPUP_RATE (200 posts/s), KEEPUP_SECONDS (300),
KEEPUP_HOT_SECONDS (60), KEEPUP_WARM_SECONDS (120), KEEPUP_INTERVAL (10, the
beat interval), KEEPUP_WORKERS (2 move tasks per beat), KEEPUP_CONCURRENCY
(2, worker processes). Run it on a fresh database (it migrates it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run as bench  # noqa: E402

RATE = int(os.environ.get("KEEPUP_RATE", "200"))
SECONDS = int(os.environ.get("KEEPUP_SECONDS", "300"))
HOT = int(os.environ.get("KEEPUP_HOT_SECONDS", "60"))
WARM = int(os.environ.get("KEEPUP_WARM_SECONDS", "120"))
INTERVAL = float(os.environ.get("KEEPUP_INTERVAL", "10"))
WORKERS = int(os.environ.get("KEEPUP_WORKERS", "2"))
CONCURRENCY = int(os.environ.get("KEEPUP_CONCURRENCY", "2"))

ENV = {
    **os.environ,
    "NEXUS_HOT_SECONDS": str(HOT),
    "NEXUS_WARM_SECONDS": str(WARM),
    "NEXUS_EDIT_WINDOW_SECONDS": str(min(HOT, 30)),
    "NEXUS_LIFECYCLE_INTERVAL_SECONDS": str(INTERVAL),
    "NEXUS_LIFECYCLE_WORKERS": str(WORKERS),
    "NEXUS_WRITE_RATE": "1000000/min",
    "DJANGO_SETTINGS_MODULE": "nexus.settings",
    "PYTHONPATH": str(bench.ROOT),
}
os.environ.update(ENV)


def main() -> None:
    bench.CFG.var_dir.mkdir(parents=True, exist_ok=True)
    py = str(bench.BIN / "python")
    subprocess.run([py, "manage.py", "migrate", "--noinput", "-v0"], check=True, cwd=bench.ROOT, env=ENV)
    lines = subprocess.run(
        [py, "manage.py", "create_user", "keepup", "--count", "50"],
        check=True,
        cwd=bench.ROOT,
        env=ENV,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    tokens = bench.CFG.var_dir / "keepup-tokens.txt"
    tokens.write_text("\n".join(line.split()[1] for line in lines if line.strip()) + "\n")
    port = bench.CFG.port + 7
    procs = [
        subprocess.Popen(
            [
                str(bench.BIN / "gunicorn"),
                "nexus.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                "2",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
            cwd=bench.ROOT,
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [str(bench.BIN / "celery"), "-A", "nexus", "worker", "-c", str(CONCURRENCY), "-l", "warning"],
            cwd=bench.ROOT,
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                str(bench.BIN / "celery"),
                "-A",
                "nexus",
                "beat",
                "-l",
                "warning",
                "-s",
                str(bench.CFG.var_dir / "keepup-beat"),
            ],
            cwd=bench.ROOT,
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    import django

    django.setup()
    from lifecycle.selectors import queue_backlog, segment_catalog, tier_counts

    try:
        base = f"http://127.0.0.1:{port}"
        bench.wait_http(f"{base}/healthz")
        started = bench.wrk_start(
            base, ["/api/v1/tweets"], method="POST", body=True, tokens=tokens, rate=RATE, seconds=SECONDS
        )
        samples = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < SECONDS + 2 * WARM:
            backlog = queue_backlog()
            samples.append(
                {
                    "t": round(time.monotonic() - t0, 1),
                    "lag_s": backlog["oldest_due_age_seconds"],
                    "due": backlog["due"],
                    "tiers": tier_counts(),
                    "segments": backlog["segments"],
                    "per_min": backlog["migrations_per_minute"],
                }
            )
            print(json.dumps(samples[-1]), flush=True)
            if started[0].poll() is not None and backlog["due"] == 0 and time.monotonic() - t0 > SECONDS + WARM:
                break
            time.sleep(5)
        posts = bench.wrk_finish(started)
        during = [s for s in samples if s["t"] <= SECONDS]
        result = {
            "rate": RATE,
            "seconds": SECONDS,
            "hot_seconds": HOT,
            "warm_seconds": WARM,
            "beat_interval_s": INTERVAL,
            "posts": posts,
            "max_lag_s": max(s["lag_s"] for s in during),
            "max_lag_after_s": max(s["lag_s"] for s in samples),
            "hot_after_warmup": [s["tiers"]["hot"] for s in during if s["t"] >= HOT + 2 * INTERVAL],
            "final_tiers": samples[-1]["tiers"],
            "catalog": segment_catalog(),
        }
        print("KEEPUP_JSON " + json.dumps(result), flush=True)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
