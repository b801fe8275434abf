from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone
from tqdm import tqdm

from lifecycle.selectors import queue_backlog
from lifecycle.services import lifecycle_run_due


class Command(BaseCommand):
    help = (
        "Process every lifecycle migration due now, in this process (the beat job does the same through "
        "workers), one segment per batch. Safe to run while workers run: both claim disjoint batches with SKIP LOCKED."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args, batch_size: int | None, **options):
        due = queue_backlog(now=timezone.now())["due"]
        with tqdm(total=due, unit="migration", desc="lifecycle") as bar:
            totals = lifecycle_run_due(batch_size=batch_size, progress=bar.update)
        summary = ", ".join(f"{k}={v}" for k, v in sorted(totals.items())) or "nothing due"
        self.stdout.write(f"lifecycle: {summary}")
