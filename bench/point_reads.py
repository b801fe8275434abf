"""Warm and cold point reads from the archive (issue 15), each read the first
of its tweet: the record cache holds none of the measured ids, so every read
hydrates from its segment inside the measurement.

Run it on a seeded, migrated set after `lifecycle_run`, with the environment
that set was migrated with (DATABASE_URL, REDIS_URL, the STORAGE_* / AWS_*
variables of the archive's store):

    .venv/bin/python bench/point_reads.py [--samples 300] [--mode both|http|inprocess] [--seed 1]

Reads go one at a time, warm and cold ids shuffled together, in two phases
per mode, each over its own ids:

- "cold footer cache": the process starts with no segment footer cached, so
  the first read of each segment also fetches and parses its footer (a
  freshly started server);
- "steady state": one other tweet of every catalogued segment is read first,
  so every footer is cached and a read costs the row-group fetch only (a
  server that has been up a while: the footer cache holds
  NEXUS_SEGMENT_FOOTER_CACHE segments).

`http`: gunicorn (one worker, `--threads` threads, so one process's footer
cache is what the phases describe) on 127.0.0.1:`--port`, GET
/api/v1/tweets/{id} anonymously over one keep-alive connection, the time
from sending the request to the end of the body. `inprocess`: the composition
layer's reader (`api.selectors.tweet_records_get_many`, what the view calls)
in this process, with the number of object-store GETs and bytes per read.
Prints one JSON document (p50/p95/p99 per mode, phase and tier, load
average before and after)."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

import django  # noqa: E402

django.setup()

from api import selectors  # noqa: E402
from bench.run import wait_http  # noqa: E402
from lifecycle import segments  # noqa: E402
from lifecycle.models import Segment  # noqa: E402
from tweets import cache as tweet_cache  # noqa: E402
from tweets.models import Tweet  # noqa: E402

TIERS = ("warm", "cold")
PHASES = ("cold_footer_cache", "steady_state")


def log(message: str) -> None:
    print(f"[point_reads {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentiles(times: list[float]) -> dict:
    ordered = sorted(times)
    if not ordered:
        return {"n": 0}

    def rank(p: float) -> float:  # nearest rank
        return round(ordered[max(0, min(len(ordered) - 1, int(p * len(ordered) + 0.999999) - 1))], 2)

    return {"n": len(ordered), "p50_ms": rank(0.50), "p95_ms": rank(0.95), "p99_ms": rank(0.99), "max_ms": rank(1.0)}


def samples(rng: random.Random, count: int) -> dict[str, list[int]]:
    """`count` random published ids per tier (all of them when fewer)."""
    out = {}
    for tier in TIERS:
        ids = list(Tweet.objects.published().filter(tier=tier).values_list("id", flat=True))
        out[tier] = rng.sample(ids, min(count, len(ids)))
    return out


def primers(exclude: set[int]) -> list[int]:
    """One published tweet of each catalogued segment (of the segment's tier),
    none of the measured ones: reading them loads every footer."""
    ids = []
    for segment in Segment.objects.order_by("pk"):
        tweet_id = (
            Tweet.objects.published()
            .filter(tier=segment.tier, id__gte=segment.min_id, id__lte=segment.max_id)
            .exclude(id__in=exclude)
            .order_by("id")
            .values_list("id", flat=True)
            .first()
        )
        if tweet_id is not None:
            ids.append(tweet_id)
    return ids


def order(rng: random.Random, ids: dict[str, list[int]]) -> list[tuple[str, int]]:
    mixed = [(tier, tweet_id) for tier in TIERS for tweet_id in ids[tier]]
    rng.shuffle(mixed)
    return mixed


# --- in-process ------------------------------------------------------------------------------------
class StoreCalls:
    """GETs and bytes of the archive's S3 client (nothing on local files)."""

    def __init__(self) -> None:
        self.gets = self.bytes = 0
        s3 = segments._s3(segments.archive_storage())
        if s3 is not None:
            s3[0].meta.events.register("after-call.s3.GetObject", self._seen)

    def _seen(self, http_response=None, **kwargs) -> None:
        self.gets += 1
        self.bytes += int(http_response.headers.get("Content-Length", 0)) if http_response is not None else 0


def inprocess_phase(reads: list[tuple[str, int]], calls: StoreCalls) -> dict:
    times: dict[str, list[float]] = {tier: [] for tier in TIERS}
    gets = dict.fromkeys(TIERS, 0)
    got = dict.fromkeys(TIERS, 0)
    for tier, tweet_id in reads:
        before = (calls.gets, calls.bytes)
        started = time.perf_counter()
        records = selectors.tweet_records_get_many([tweet_id])
        times[tier].append((time.perf_counter() - started) * 1000)
        if records.get(tweet_id, {}).get("tier") != tier:
            raise RuntimeError(f"tweet {tweet_id}: expected a {tier} record, got {records.get(tweet_id)}")
        gets[tier] += calls.gets - before[0]
        got[tier] += calls.bytes - before[1]
    return {
        tier: {
            **percentiles(times[tier]),
            "gets_per_read": round(gets[tier] / max(1, len(times[tier])), 2),
            "bytes_per_read": round(got[tier] / max(1, len(times[tier]))),
        }
        for tier in TIERS
    }


def inprocess(ids: dict[str, dict[str, list[int]]], prime: list[int], rng: random.Random) -> dict:
    calls = StoreCalls()
    segments.footer_cache_clear()
    result = {"cold_footer_cache": inprocess_phase(order(rng, ids["cold_footer_cache"]), calls)}
    tweet_cache.tweet_cache_delete_many(prime)
    selectors.tweet_records_get_many(prime)
    result["steady_state"] = inprocess_phase(order(rng, ids["steady_state"]), calls)
    return result


# --- over HTTP ------------------------------------------------------------------------------------
def gunicorn_start(port: int, threads: int, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "false",
        "NEXUS_PRODUCTION": "false",  # loopback HTTP: no SSL redirect
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "point-reads-" + "x" * 50,
    }
    argv = [str(Path(sys.executable).parent / "gunicorn"), "--workers", "1", "--worker-class", "gthread"]
    argv += ["--threads", str(threads), "--log-level", "warning", "--bind", f"127.0.0.1:{port}"]
    argv.append("nexus.wsgi:application")
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_http(f"http://127.0.0.1:{port}/healthz")
    return proc


def gunicorn_stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def http_phase(conn: http.client.HTTPConnection, reads: list[tuple[str, int]]) -> dict:
    times: dict[str, list[float]] = {tier: [] for tier in TIERS}
    for tier, tweet_id in reads:
        started = time.perf_counter()
        conn.request("GET", f"/api/v1/tweets/{tweet_id}")
        response = conn.getresponse()
        body = response.read()
        times[tier].append((time.perf_counter() - started) * 1000)
        if response.status != 200 or json.loads(body).get("tier") != tier:
            raise RuntimeError(f"GET {tweet_id}: {response.status} {body[:200]!r}")
    return {tier: percentiles(times[tier]) for tier in TIERS}


def over_http(ids: dict[str, dict[str, list[int]]], prime: list[int], rng: random.Random, args) -> dict:
    proc = gunicorn_start(args.port, args.threads, Path(args.log))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        result = {"cold_footer_cache": http_phase(conn, order(rng, ids["cold_footer_cache"]))}
        tweet_cache.tweet_cache_delete_many(prime)
        tiers = Tweet.objects.filter(id__in=prime).values_list("id", "tier")
        http_phase(conn, [(tier, tweet_id) for tweet_id, tier in tiers])
        result["steady_state"] = http_phase(conn, order(rng, ids["steady_state"]))
        conn.close()
    finally:
        gunicorn_stop(proc)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=300, help="ids per tier, phase and mode")
    parser.add_argument("--mode", choices=("both", "http", "inprocess"), default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=18077)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--log", default="/tmp/point_reads_gunicorn.log")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    modes = ["inprocess", "http"] if args.mode == "both" else [args.mode]

    log("choosing ids")
    pool = samples(rng, args.samples * 2 * len(modes))
    ids: dict[str, dict[str, dict[str, list[int]]]] = {}
    for m, mode in enumerate(modes):
        ids[mode] = {}
        for p, phase in enumerate(PHASES):
            start = (m * 2 + p) * args.samples
            ids[mode][phase] = {tier: pool[tier][start : start + args.samples] for tier in TIERS}
    measured = {tweet_id for tier in TIERS for tweet_id in pool[tier]}
    prime = primers(measured)
    # Every measured read is its tweet's first: no record of them is cached.
    tweet_cache.tweet_cache_delete_many(measured)

    report: dict = {
        "samples_per_tier_and_phase": args.samples,
        "segments": Segment.objects.count(),
        "primers": len(prime),
        "store": "s3" if segments._s3(segments.archive_storage()) else "local files",
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }
    for mode in modes:
        log(f"{mode}: reading")
        if mode == "inprocess":
            report[mode] = inprocess(ids[mode], prime, rng)
        else:
            report[mode] = over_http(ids[mode], prime, rng, args)
    report["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
