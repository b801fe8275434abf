#!/usr/bin/env bash
# Start the Celery worker (with embedded beat) and gunicorn; stop both together.
set -euo pipefail
BIN=$1 HOST=$2 PORT=$3 WORKERS=$4
mkdir -p var
"$BIN/celery" -A nexus worker --beat --loglevel=INFO --concurrency=2 \
  --schedule=var/celerybeat-schedule >var/celery.log 2>&1 &
CELERY_PID=$!
trap 'kill $CELERY_PID 2>/dev/null; wait $CELERY_PID 2>/dev/null || true' EXIT INT TERM
echo "Celery worker + beat running (pid $CELERY_PID, log var/celery.log)"
echo "Nexus on http://$HOST:$PORT/  (API docs: http://$HOST:$PORT/api/docs, admin: /admin/)"
echo "Use the demo token above: curl -H 'Authorization: Bearer <token>' http://$HOST:$PORT/api/v1/users/demo/tweets"
# One web process: the embedded cache is in-process (use REDIS_URL to scale out).
"$BIN/gunicorn" nexus.wsgi:application --bind "$HOST:$PORT" --workers "$WORKERS" --threads 8 \
  --access-logfile - --error-logfile -
