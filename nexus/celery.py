"""The one Celery app. Configuration comes from Django settings (CELERY_*)."""

import os
from functools import partial

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

app = Celery("nexus", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The request id travels with every task a request enqueues (nexus.logs), and
# the worker logs JSON through Django's LOGGING rather than its own handlers.
from nexus import metrics  # noqa: E402
from nexus.logs import celery_signals_connect  # noqa: E402

celery_signals_connect()
# Task durations (and the worker's metrics port), queue depth at scrape: nexus/metrics.py.
metrics.celery_signals_connect()
metrics.source_register("celery", partial(metrics.celery_queue_gauges, app))
