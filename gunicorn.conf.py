"""gunicorn hooks (gunicorn reads ./gunicorn.conf.py; docker-compose names it).

prometheus-client's multiprocess mode (nexus/metrics.py): every worker writes
its metrics to files in PROMETHEUS_MULTIPROC_DIR and /metrics sums them. The
master empties the directory when it starts (a previous run's files would be
summed in) and marks a dead worker's files. Without the variable these hooks
do nothing (make run, the bench)."""

import os
from pathlib import Path

from prometheus_client import multiprocess


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
