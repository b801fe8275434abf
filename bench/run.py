"""`make bench`: Nexus under load, side by side with a bare Django + DRF baseline.

Starts Nexus the production way on loopback (gunicorn, Celery worker and beat,
PostgreSQL and Redis) and the bare baseline (bench/baseline) with the same
gunicorn settings, seeds users, tokens and tweets, runs each scenario with wrk
right after its baseline counterpart, writes bench/results.json and the results
part of docs/benchmarks.md, and stops everything it started. Exits non-zero only
when the run itself failed, never on a slow figure. Knobs: see docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent
LUA = BENCH / "wrk" / "scenario.lua"
DOC = ROOT / "docs" / "benchmarks.md"
DOC_START = "<!-- bench:results:start -->"
DOC_END = "<!-- bench:results:end -->"


def env(name: str, default: str) -> str:
    value = os.environ.get(name, "")
    return value if value else default


QUICK = env("BENCH_QUICK", "0").lower() in {"1", "true", "yes", "on"}


@dataclass
class Config:
    duration: int = int(env("BENCH_DURATION", "3" if QUICK else "10").rstrip("s"))
    bar_seconds: int = int(env("BENCH_BAR_SECONDS", "10" if QUICK else "60").rstrip("s"))
    bar_rate: int = int(env("BENCH_BAR_RATE", "100"))
    bar_read_rate: int = int(env("BENCH_BAR_READ_RATE", "100"))
    scales: list[int] = field(
        default_factory=lambda: [
            int(s) for s in os.environ.get("BENCH_SCALES", "2000 20000" if QUICK else "10000 1000000").split()
        ]
    )
    web_workers: int = int(env("BENCH_WEB_WORKERS", "2"))
    web_threads: int = int(env("BENCH_WEB_THREADS", "4"))
    connections: int = int(env("BENCH_CONNECTIONS", "16"))
    wrk_threads: int = int(env("BENCH_WRK_THREADS", "2"))
    # Every Nth request of a wrk thread asks for "Connection: close" (0: never):
    # gunicorn's workers split keep-alive connections at accept time, once and
    # often lopsidedly (all 16 on one worker was seen), so without reconnects a
    # run measured one core's worth of one server or the other at random.
    reconnect_every: int = int(env("BENCH_RECONNECT_EVERY", "100"))
    # Seconds of unmeasured warm-up reads before each scenario pair (Bench.warm_up).
    warmup: int = int(env("BENCH_WARMUP", "2"))
    # Back-to-back baseline/Nexus rounds per scenario; the row reports the round
    # with the median ratio (run-to-run swings of 10-30% were seen here on the
    # same code, more than most optimisations are worth).
    rounds: int = int(env("BENCH_ROUNDS", "1" if QUICK else "3"))
    users: int = int(env("BENCH_USERS", "100" if QUICK else "1000"))
    synth_days: int = int(env("BENCH_SYNTH_DAYS", "120"))
    synth_per_day: int = int(env("BENCH_SYNTH_PER_DAY", "5" if QUICK else "20"))
    port: int = int(env("BENCH_PORT", "18000"))
    baseline_port: int = int(env("BENCH_BASELINE_PORT", "18001"))
    database_url: str = env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nexus_bench")
    baseline_database_url: str = env("BASELINE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nexus_bench_baseline")
    redis_url: str = env("REDIS_URL", "redis://127.0.0.1:6379/5")
    broker_url: str = env("CELERY_BROKER_URL", "redis://127.0.0.1:6379/6")
    var_dir: Path = Path(env("BENCH_VAR_DIR", "/tmp/nexus-bench"))
    results: Path = Path(env("BENCH_RESULTS", str(BENCH / "results.json")))
    profile: bool = env("BENCH_PROFILE", "0").lower() in {"1", "true", "yes", "on", "gil"}
    profile_gil: bool = env("BENCH_PROFILE", "0").lower() == "gil"
    # Comma-separated scenario names to run (e.g. "post,read_hot,bar"); empty: all.
    only: set[str] = field(default_factory=lambda: {s for s in env("BENCH_SCENARIOS", "").split(",") if s})


CFG = Config()


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- processes ------------------------------------------------------------------------
class Processes:
    """Everything the bench starts, each in its own process group so that
    stopping it also stops its children (gunicorn and celery workers)."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str], *, cwd: Path, extra_env: dict[str, str]) -> subprocess.Popen:
        logfile = open(CFG.var_dir / f"{name}.log", "w")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env={**os.environ, **extra_env},
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((name, proc))
        log(f"started {name} (pid {proc.pid}, log {logfile.name})")
        return proc

    def stop_all(self) -> None:
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                log(f"stopping {name} (pid {proc.pid})")
        deadline = time.monotonic() + 15
        for _name, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {CFG.var_dir / (name + '.log')}")


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --- environment of the two projects ------------------------------------------------------
def nexus_env() -> dict[str, str]:
    return {
        "DATABASE_URL": CFG.database_url,
        "REDIS_URL": CFG.redis_url,
        "CELERY_BROKER_URL": CFG.broker_url,
        "NEXUS_VAR_DIR": str(CFG.var_dir),
        "NEXUS_WRITE_RATE": "1000000/min",
        "NEXUS_PRODUCTION": "false",  # loopback HTTP: no SSL redirect, no HSTS
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 50,
        "NEXUS_CACHE_PREFIX": CACHE_PREFIX,
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "nexus.settings",
    }


def baseline_env() -> dict[str, str]:
    return {
        "BASELINE_DATABASE_URL": CFG.baseline_database_url,
        "DJANGO_SETTINGS_MODULE": "bare.settings",
        "PYTHONPATH": str(BENCH / "baseline"),
    }


def run(
    cmd: list[str], *, cwd: Path = ROOT, extra_env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env={**os.environ, **extra_env}, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result


def manage(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run([str(BIN / "python"), "manage.py", *args], extra_env=nexus_env(), check=check)


def seed(*args: str) -> str:
    return run([str(BIN / "python"), str(BENCH / "seed.py"), *args], extra_env=nexus_env()).stdout


def recreate_database(url: str) -> None:
    """Drop and create the bench's database. Only a database whose name says
    "bench" is ever dropped, so a DATABASE_URL left exported for development
    cannot lose its data to `make bench`."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    if not re.fullmatch(r"[A-Za-z0-9_]*bench[A-Za-z0-9_]*", name):
        raise RuntimeError(f"refusing to drop database {name!r}: the bench only recreates databases named *bench*")
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", admin, "-q", "-c", sql], check=True, capture_output=True)


CACHE_PREFIX = f"nexus-bench-{os.getpid()}"


def cache_clear() -> None:
    """Delete this run's cache keys (its own NEXUS_CACHE_PREFIX); nothing else in
    the Redis database is touched, whoever else uses it."""
    script = (
        "import sys, redis; r = redis.Redis.from_url(sys.argv[1]); keys = []\n"
        "for k in r.scan_iter(match=sys.argv[2] + ':*', count=1000):\n"
        "    keys.append(k)\n"
        "    if len(keys) >= 1000: r.delete(*keys); keys.clear()\n"
        "if keys: r.delete(*keys)\n"
    )
    run([str(BIN / "python"), "-c", script, CFG.redis_url, CACHE_PREFIX], extra_env={})


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def http(method: str, url: str, *, token: str | None = None, body: dict | None = None) -> tuple[int, dict | None]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status, ctype = response.read(), response.status, response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raw, status, ctype = exc.read(), exc.code, exc.headers.get("Content-Type", "")
    payload = json.loads(raw) if raw and ctype.startswith("application/json") else None
    return status, payload


# --- wrk ---------------------------------------------------------------------------------------
def wrk(
    base: str,
    paths: list[str],
    *,
    method: str = "GET",
    tokens: Path | None = None,
    body: bool | str = False,
    rate: int = 0,
    seconds: int | None = None,
    connections: int | None = None,
) -> dict:
    """One wrk run; returns its own figures (latency in ms, rps, status counts)."""
    return wrk_finish(
        wrk_start(
            base, paths, method=method, tokens=tokens, body=body, rate=rate, seconds=seconds, connections=connections
        )
    )


def wrk_start(base, paths, *, method="GET", tokens=None, body=False, rate=0, seconds=None, connections=None):
    seconds = seconds or CFG.duration
    connections = connections or CFG.connections
    paths_file = tempfile.NamedTemporaryFile("w", suffix=".paths", dir=CFG.var_dir, delete=False)  # noqa: SIM115
    paths_file.write("\n".join(paths) + "\n")
    paths_file.close()
    lua_env = {
        "BENCH_METHOD": method,
        "BENCH_PATHS": paths_file.name,
        "BENCH_TOKENS": str(tokens) if tokens else "",
        # True: the native body {"text": ...}; a string names the field ("status" for Mastodon's).
        "BENCH_BODY": body if isinstance(body, str) else ("text" if body else ""),
        "BENCH_NONCE": f"{os.getpid()}-{time.time_ns()}",
        "BENCH_RATE": str(rate),
        "BENCH_THREADS": str(CFG.wrk_threads),
        "BENCH_RECONNECT_EVERY": str(CFG.reconnect_every),
    }
    cmd = [
        "wrk",
        "-t",
        str(CFG.wrk_threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        base,
    ]
    proc = subprocess.Popen(
        cmd, env={**os.environ, **lua_env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return proc, paths_file.name


def wrk_finish(started) -> dict:
    proc, paths_name = started
    out, err = proc.communicate(timeout=CFG.bar_seconds + CFG.duration + 120)
    os.unlink(paths_name)
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err[-500:]} {out[-500:]}")
    raw = json.loads(line[len("BENCH_JSON ") :])
    seconds = raw["duration_us"] / 1e6
    statuses = {int(k): v for k, v in raw["status"].items()}
    socket_errors = sum(raw["errors"][k] for k in ("connect", "read", "write", "timeout"))
    non_2xx = sum(v for k, v in statuses.items() if not 200 <= k < 300)
    lat = raw["latency_us"]
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(lat["p50"] / 1000, 2),
        "p90_ms": round(lat["p90"] / 1000, 2),
        "p95_ms": round(lat["p95"] / 1000, 2),
        "p99_ms": round(lat["p99"] / 1000, 2),
        "max_ms": round(lat["max"] / 1000, 2),
        "non_2xx": non_2xx,
        "socket_errors": socket_errors,
        "status": {str(k): v for k, v in sorted(statuses.items())},
    }


# --- profiling (BENCH_PROFILE=1) -------------------------------------------------------------
def worker_pids(master_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def profile_start(name: str, master_pid: int) -> list[tuple[subprocess.Popen, Path]]:
    if not CFG.profile or not shutil.which(str(BIN / "py-spy")):
        return []
    out_dir = CFG.var_dir / "profiles"
    out_dir.mkdir(exist_ok=True)
    started = []
    for pid in worker_pids(master_pid):
        out = out_dir / f"{name}-{pid}.txt"
        cmd = [
            str(BIN / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(CFG.duration),
            "--rate",
            "200",
            "--format",
            "raw",
            "--nonblocking",
            "-o",
            str(out),
        ]
        if CFG.profile_gil:
            cmd.append("--gil")  # only the thread holding the GIL: Python CPU, not I/O waits
        started.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out))
    return started


def _frame_name(frame: str) -> str:
    """'func (path/file.py:12)' -> 'func (path/file.py)': lines of one function add up."""
    head, sep, rest = frame.partition(" (")
    return f"{head} ({rest.rsplit(':', 1)[0]})" if sep else frame


def profile_summary(paths: list[Path]) -> dict[str, list[tuple[str, float]]]:
    """Share of request samples per function: inclusive (the function or its
    callees on the stack) and self (the innermost frame)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [_frame_name(f) for f in stack.split(";")]
            # Only samples inside request handling: idle threads wait in gunicorn's loop.
            if not any("get_response" in f for f in frames):
                continue
            total += int(count)
            own[frames[-1]] += int(count)
            for frame in set(frames):
                inclusive[frame] += int(count)
    if not total:
        return {}
    return {
        "samples": [("total", float(total))],
        "inclusive": [(f, round(100 * n / total, 1)) for f, n in inclusive.most_common(60)],
        "self": [(f, round(100 * n / total, 1)) for f, n in own.most_common(25)],
    }


def profile_finish(started: list[tuple[subprocess.Popen, Path]]) -> dict[str, list[tuple[str, float]]]:
    for proc, _ in started:
        proc.wait(timeout=CFG.duration + 60)
    return profile_summary([path for _, path in started])


# --- scenarios -------------------------------------------------------------------------------
@dataclass
class Bench:
    nexus: str
    baseline: str
    tokens: Path
    nexus_master: int
    results: list[dict] = field(default_factory=list)
    profiles: dict[str, dict] = field(default_factory=dict)
    baseline_ids: list[int] = field(default_factory=list)
    # A cached hot tweet: what the warm-up reads (set once tweets are seeded).
    warmup_tweet_id: int | None = None

    def warm_up(self, server: str) -> None:
        """Before each measured run, CFG.warmup seconds of authenticated reads of
        one cached tweet over all the bench tokens (baseline: one item), so both
        servers are measured in steady state (connections open, every token in
        the token cache) without touching the scenario's own data: a warm or
        cold tweet's first read must still hydrate it inside the measurement."""
        if CFG.warmup <= 0:
            return
        if server == self.baseline and self.baseline_ids:
            wrk(self.baseline, [f"/items/{self.baseline_ids[0]}"], seconds=CFG.warmup)
        elif server == self.nexus and self.warmup_tweet_id is not None:
            wrk(self.nexus, [f"/api/v1/tweets/{self.warmup_tweet_id}"], tokens=self.tokens, seconds=CFG.warmup)

    def pair(
        self,
        name: str,
        label: str,
        *,
        baseline: tuple[str, dict],
        nexus: dict,
        target: str | None = None,
        per_request: int = 1,
        rounds: int | None = None,
    ) -> dict:
        """The baseline view, then the Nexus scenario right after (back to back),
        `rounds` times (CFG.rounds; 1 for a scenario whose first run changes
        what the next would measure); the row is the round with the median ratio."""
        if CFG.only and name not in CFG.only and not name.startswith("scale_"):
            return {}
        base_view, base_kwargs = baseline
        measured = []
        for round_no in range(1, (rounds or CFG.rounds) + 1):
            self.warm_up(self.baseline)
            log(f"{name}: baseline {base_view} (round {round_no})")
            base = wrk(self.baseline, **base_kwargs)
            self.warm_up(self.nexus)
            log(f"{name}: nexus ({label}) (round {round_no})")
            prof = profile_start(name, self.nexus_master) if round_no == 1 else []
            nex = wrk(self.nexus, **nexus)
            if prof:
                self.profiles[name] = profile_finish(prof)
            ratio = round(nex["rps"] / base["rps"], 2) if base["rps"] else 0.0
            measured.append((ratio, round_no, base, nex))
        ratio, _, base, nex = sorted(measured, key=lambda m: (m[0], m[1]))[(len(measured) - 1) // 2]
        row = {
            "name": name,
            "label": label,
            "baseline_view": base_view,
            "baseline": base,
            "nexus": nex,
            "ratio_rps": ratio,
            "ratio_p95": round(nex["p95_ms"] / base["p95_ms"], 2) if base["p95_ms"] else None,
            "target": target,
            "rounds": [{"ratio_rps": r, "nexus_rps": n["rps"], "baseline_rps": b["rps"]} for r, _, b, n in measured],
        }
        if per_request > 1:
            row["tweets_per_s"] = round(nex["rps"] * per_request, 1)
        self.results.append(row)
        log(
            f"{name}: nexus {nex['rps']} req/s p95 {nex['p95_ms']} ms non-2xx {nex['non_2xx']}  |  "
            f"baseline {base['rps']} req/s p95 {base['p95_ms']} ms  |  ratio {row['ratio_rps']}x"
        )
        return row

    def skip(self, name: str, label: str, reason: str) -> None:
        if CFG.only and name not in CFG.only:
            return
        log(f"{name}: not available: {reason}")
        self.results.append({"name": name, "label": label, "skipped": reason})

    # baseline request mixes
    def b_insert(self, **kw) -> tuple[str, dict]:
        return "ORM insert", {"paths": ["/items"], "method": "POST", "body": True, **kw}

    def b_get(self, **kw) -> tuple[str, dict]:
        return "get by pk", {"paths": [f"/items/{i}" for i in self.baseline_ids], **kw}

    def b_incr(self, ids: list[int]) -> tuple[str, dict]:
        return "F() increment", {"paths": [f"/items/{i}/incr" for i in ids], "method": "POST"}


def lifecycle_commands() -> bool:
    listed = manage("help", "--commands").stdout.split()
    return "seed_synthetic" in listed and "lifecycle_run" in listed


def synth_and_migrate() -> dict:
    """seed_synthetic + lifecycle_run, timed; the migrated count comes from the tiers."""
    before = json.loads(seed("tiers"))
    started = time.monotonic()
    manage("seed_synthetic", "--days", str(CFG.synth_days), "--per-day", str(CFG.synth_per_day), "--users", "20")
    seeded_s = time.monotonic() - started
    started = time.monotonic()
    manage("lifecycle_run")
    run_s = time.monotonic() - started
    after = json.loads(seed("tiers"))
    moved = (after["warm"] + after["cold"]) - (before["warm"] + before["cold"])
    return {
        "seed_seconds": round(seeded_s, 2),
        "lifecycle_run_seconds": round(run_s, 2),
        "migrated": moved,
        "migrated_per_s": round(moved / run_s, 1) if run_s else None,
        "tiers": after,
    }


def search_paths() -> list[str]:
    # "w<k>" is carried by 1 in 1000 seeded tweets: 10 at 10^4, 1000 at 10^6.
    return [f"/api/v1/search?q=w{k}" for k in range(1, 51)]


def like_available(bench: Bench, tweet_id: int, token: str) -> str | None:
    status, payload = http("POST", f"{bench.nexus}/api/v1/tweets/{tweet_id}/like", token=token)
    if status == 200:
        return None
    return f"POST /api/v1/tweets/{{id}}/like answered {status} {json.dumps(payload)[:120] if payload else ''}".strip()


def main_scenarios(bench: Bench, tokens: list[str], lifecycle: dict | None) -> None:
    cfg = CFG
    hot_ids = [int(i) for i in seed("ids", "--tier", "hot", "--limit", "1000").split()]
    # Hot read: 100 tweets, warmed into the cache first.
    hot = hot_ids[:100]
    for tid in hot:
        http("GET", f"{bench.nexus}/api/v1/tweets/{tid}", token=tokens[0])
    bench.warmup_tweet_id = hot[0]
    bench.pair(
        "post",
        "POST /api/v1/tweets",
        baseline=bench.b_insert(),
        nexus={"paths": ["/api/v1/tweets"], "method": "POST", "body": True, "tokens": bench.tokens},
        target="throughput >= 0.6x ORM insert",
    )
    bench.pair(
        "read_hot",
        "GET /api/v1/tweets/{id} (cached)",
        baseline=bench.b_get(),
        nexus={"paths": [f"/api/v1/tweets/{i}" for i in hot], "tokens": bench.tokens},
        target="throughput >= 1.0x get by pk",
    )
    # The Mastodon client API (mastodon_api/) beside the native rows it wraps.
    bench.pair(
        "masto_post",
        "POST /api/v1/statuses (Mastodon)",
        baseline=bench.b_insert(),
        nexus={"paths": ["/api/v1/statuses"], "method": "POST", "body": "status", "tokens": bench.tokens},
        target="throughput within 15% of post",
    )
    bench.pair(
        "masto_read",
        "GET /api/v1/statuses/{id} (Mastodon, cached)",
        baseline=bench.b_get(),
        nexus={"paths": [f"/api/v1/statuses/{i}" for i in hot], "tokens": bench.tokens},
        target="throughput within 15% of read_hot",
    )
    aged_ids: dict[str, list[int]] = {}
    if lifecycle is not None:
        for tier in ("warm", "cold"):
            aged_ids[tier] = [int(i) for i in seed("ids", "--tier", tier, "--limit", "1000").split()]
        # The same number of distinct ids for both tiers: each id's first read
        # hydrates it from the archive, so a tier read over more ids would
        # simply see more misses.
        same = min(len(ids) for ids in aged_ids.values())
        aged_ids = {tier: ids[:same] for tier, ids in aged_ids.items()}
    for tier in ("warm", "cold"):
        name = f"read_{tier}"
        label = f"GET /api/v1/tweets/{{id}} ({tier})"
        if lifecycle is None:
            bench.skip(name, label, "seed_synthetic / lifecycle_run not available yet")
            continue
        ids = aged_ids[tier]
        if not ids:
            bench.skip(name, label, f"no {tier} tweets after seed_synthetic + lifecycle_run")
            continue
        bench.pair(
            name,
            label,
            baseline=bench.b_get(),
            nexus={"paths": [f"/api/v1/tweets/{i}" for i in ids], "tokens": bench.tokens},
            target="p95 < 100 ms",
            rounds=1,  # a later round would read what the first hydrated
        )
    batches = [",".join(str(i) for i in hot_ids[k * 100 : (k + 1) * 100]) for k in range(len(hot_ids) // 100)]
    bench.pair(
        "batch_read",
        "GET /api/v1/tweets?ids= (100 ids)",
        baseline=bench.b_get(),
        nexus={"paths": [f"/api/v1/tweets?ids={b}" for b in batches], "tokens": bench.tokens},
        per_request=100,
    )
    reason = like_available(bench, hot_ids[0], tokens[0])
    if reason:
        bench.skip("like_one", "POST like, one tweet, many users", reason)
        bench.skip("like_spread", "POST like, 1000 tweets", reason)
    else:
        bench.pair(
            "like_one",
            "POST /api/v1/tweets/{id}/like (one tweet, many users)",
            baseline=bench.b_incr(bench.baseline_ids[:1]),
            nexus={"paths": [f"/api/v1/tweets/{hot_ids[1]}/like"], "method": "POST", "tokens": bench.tokens},
            target="throughput >= 1.0x F() and within 10% of like_spread",
        )
        bench.pair(
            "like_spread",
            "POST /api/v1/tweets/{id}/like (1000 tweets)",
            baseline=bench.b_incr(bench.baseline_ids),
            nexus={"paths": [f"/api/v1/tweets/{i}/like" for i in hot_ids], "method": "POST", "tokens": bench.tokens},
        )
    bench.pair(
        "search",
        "GET /api/v1/search?q=w<k>",
        baseline=bench.b_get(),
        nexus={"paths": search_paths(), "tokens": bench.tokens},
    )
    if not cfg.only or "bar" in cfg.only:
        seed_bar(bench, hot, cfg)


def seed_bar(bench: Bench, hot: list[int], cfg: Config) -> None:
    """The seed's bar: 100 posts/s for 60 s with reads alongside, both at a constant rate."""
    log(f"seed bar: baseline, {cfg.bar_rate} inserts/s + {cfg.bar_read_rate} reads/s for {cfg.bar_seconds} s")
    common = {"seconds": cfg.bar_seconds}
    b_w = wrk_start(bench.baseline, ["/items"], method="POST", body=True, rate=cfg.bar_rate, **common)
    b_r = wrk_start(bench.baseline, [f"/items/{i}" for i in bench.baseline_ids], rate=cfg.bar_read_rate, **common)
    base_w, base_r = wrk_finish(b_w), wrk_finish(b_r)
    log(f"seed bar: nexus, {cfg.bar_rate} posts/s + {cfg.bar_read_rate} reads/s for {cfg.bar_seconds} s")
    n_w = wrk_start(
        bench.nexus, ["/api/v1/tweets"], method="POST", body=True, tokens=bench.tokens, rate=cfg.bar_rate, **common
    )
    n_r = wrk_start(
        bench.nexus, [f"/api/v1/tweets/{i}" for i in hot], tokens=bench.tokens, rate=cfg.bar_read_rate, **common
    )
    nex_w, nex_r = wrk_finish(n_w), wrk_finish(n_r)
    held = (
        nex_w["rps"] >= 0.98 * cfg.bar_rate
        and nex_w["non_2xx"] + nex_w["socket_errors"] == 0
        and nex_r["non_2xx"] + nex_r["socket_errors"] == 0
        and nex_r["p95_ms"] < 100
    )
    for name, label, base, nex in (
        ("bar_post", f"seed bar: POST at {cfg.bar_rate}/s for {cfg.bar_seconds} s", base_w, nex_w),
        ("bar_read", f"seed bar: GET alongside at {cfg.bar_read_rate}/s", base_r, nex_r),
    ):
        bench.results.append(
            {
                "name": name,
                "label": label,
                "baseline_view": "ORM insert" if name == "bar_post" else "get by pk",
                "baseline": base,
                "nexus": nex,
                "ratio_rps": round(nex["rps"] / base["rps"], 2) if base["rps"] else None,
                "ratio_p95": round(nex["p95_ms"] / base["p95_ms"], 2) if base["p95_ms"] else None,
                "target": f"{cfg.bar_rate}/s held, read p95 < 100 ms, no errors" if name == "bar_read" else None,
                "bar_held": held,
            }
        )
    log(
        f"seed bar: posts {nex_w['rps']}/s p95 {nex_w['p95_ms']} ms errors {nex_w['non_2xx']}; "
        f"reads p95 {nex_r['p95_ms']} ms errors {nex_r['non_2xx']}; held={held}"
    )


def scale_scenarios(bench: Bench, scale: int, lifecycle_ok: bool) -> dict:
    started = time.monotonic()
    added = int(seed("tweets", "--total", str(scale)).strip() or 0)
    seeded_s = round(time.monotonic() - started, 1)
    log(f"scale {scale}: seeded {added} tweets in {seeded_s} s; settling: {seed('settle').strip()}")
    cache_clear()  # reads below start cold in the cache: they measure the database path
    ids = [int(i) for i in seed("ids", "--tier", "hot", "--limit", str(scale)).split()]
    sample = random.Random(scale).sample(ids, min(2000, len(ids)))
    read = bench.pair(
        f"scale_{scale}_read",
        f"GET /api/v1/tweets/{{id}}, random of {scale} (cache flushed)",
        baseline=bench.b_get(),
        nexus={"paths": [f"/api/v1/tweets/{i}" for i in sample], "tokens": bench.tokens},
        rounds=1,  # the cache was flushed for this one: later rounds would read it warm
    )
    search = bench.pair(
        f"scale_{scale}_search",
        f"GET /api/v1/search at {scale} tweets",
        baseline=bench.b_get(),
        nexus={"paths": search_paths(), "tokens": bench.tokens},
        rounds=1,
    )
    similar = bench.pair(
        f"scale_{scale}_similar",
        f"GET /api/v1/tweets/{{id}}/similar?limit=20 at {scale} tweets (kNN)",
        baseline=bench.b_get(),
        nexus={"paths": [f"/api/v1/tweets/{i}/similar?limit=20" for i in sample[:500]], "tokens": bench.tokens},
        rounds=1,
    )
    entry: dict = {
        "scale": scale,
        "seed_seconds": seeded_s,
        "read": read["nexus"],
        "search": search["nexus"],
        "similar": similar["nexus"],
    }
    if lifecycle_ok:
        try:
            entry["lifecycle"] = synth_and_migrate()
            log(f"scale {scale}: lifecycle {entry['lifecycle']}")
        except RuntimeError as exc:
            entry["lifecycle"] = {"error": str(exc)[-300:]}
    else:
        entry["lifecycle"] = {"skipped": "seed_synthetic / lifecycle_run not available yet"}
    return entry


# --- report ----------------------------------------------------------------------------------------
def machine() -> dict:
    def out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"

    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(
        next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    )
    versions = run(
        [
            str(BIN / "python"),
            "-c",
            (
                "import django, rest_framework, gunicorn, celery, psycopg, redis, django_redis;"
                "print(django.get_version(), rest_framework.VERSION, gunicorn.__version__, celery.__version__,"
                " psycopg.__version__, redis.__version__, django_redis.__version__)"
            ),
        ],
        extra_env={},
    ).stdout.split()
    names = ["django", "djangorestframework", "gunicorn", "celery", "psycopg", "redis-py", "django-redis"]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        **dict(zip(names, versions, strict=False)),
        "postgresql": out(["psql", CFG.database_url, "-tAc", "show server_version"]),
        "redis": out(["redis-cli", "-u", CFG.redis_url, "INFO", "server"]).split("redis_version:")[-1].split()[0],
        "wrk": out(["wrk", "--version"]).splitlines()[0] if shutil.which("wrk") else "?",
        # BENCH_COMMIT: when the run is of an exported tree without .git.
        "commit": out(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]) or env("BENCH_COMMIT", "?"),
        "load_avg_at_start": os.getloadavg(),
    }


def fmt_row(row: dict) -> str:
    if "skipped" in row:
        return f"| {row['name']} | {row['label']} | not available: {row['skipped']} | | | | | | |"
    n, b = row["nexus"], row["baseline"]
    extra = f" ({row['tweets_per_s']} tweets/s)" if "tweets_per_s" in row else ""
    return (
        f"| {row['name']} | {row['label']} | {n['rps']}{extra} | {n['p50_ms']} / {n['p95_ms']} / {n['p99_ms']} | "
        f"{n['non_2xx'] + n['socket_errors']} | {row['baseline_view']}: {b['rps']} | {b['p50_ms']} / {b['p95_ms']} / "
        f"{b['p99_ms']} | **{row['ratio_rps']}x**{_rounds_note(row)} | {row['ratio_p95']}x |"
    )


def _rounds_note(row: dict) -> str:
    rounds = row.get("rounds", [])
    if len(rounds) < 2:
        return ""
    return " (median of " + ", ".join(f"{r['ratio_rps']}" for r in rounds) + ")"


def targets(results: list[dict], scales: list[dict]) -> list[tuple[str, str, bool | None]]:
    by = {r["name"]: r for r in results if "skipped" not in r}
    checks: list[tuple[str, str, bool | None]] = []

    def add(label: str, key: str, test) -> None:
        if key not in by:
            checks.append((label, "not measured", None))
            return
        text, ok = test(by[key])
        checks.append((label, text, ok))

    add("post >= 0.6x bare insert", "post", lambda r: (f"{r['ratio_rps']}x", r["ratio_rps"] >= 0.6))
    add("hot read >= 1.0x bare get", "read_hot", lambda r: (f"{r['ratio_rps']}x", r["ratio_rps"] >= 1.0))
    add("warm read p95 < 100 ms", "read_warm", lambda r: (f"{r['nexus']['p95_ms']} ms", r["nexus"]["p95_ms"] < 100))
    add("cold read p95 < 100 ms", "read_cold", lambda r: (f"{r['nexus']['p95_ms']} ms", r["nexus"]["p95_ms"] < 100))
    for masto, native in (("masto_post", "post"), ("masto_read", "read_hot")):
        if masto in by and native in by:
            m, n = by[masto]["nexus"]["rps"], by[native]["nexus"]["rps"]
            checks.append((f"{masto} within 15% of {native}", f"{m} vs {n} req/s", m >= 0.85 * n))
        else:
            checks.append((f"{masto} within 15% of {native}", "not measured", None))
    add("like one tweet >= 1.0x bare F()", "like_one", lambda r: (f"{r['ratio_rps']}x", r["ratio_rps"] >= 1.0))
    if "like_one" in by and "like_spread" in by:
        one, spread = by["like_one"]["nexus"]["rps"], by["like_spread"]["nexus"]["rps"]
        checks.append(("like one within 10% of like spread", f"{one} vs {spread} req/s", one >= 0.9 * spread))
    else:
        checks.append(("like one within 10% of like spread", "not measured", None))
    add(
        "seed bar: 100/s for the bar time, read p95 < 100 ms, no errors",
        "bar_read",
        lambda r: (
            f"posts {by['bar_post']['nexus']['rps']}/s, read p95 {r['nexus']['p95_ms']} ms, errors "
            f"{by['bar_post']['nexus']['non_2xx'] + r['nexus']['non_2xx']}",
            r["bar_held"],
        ),
    )
    if len(scales) >= 2:
        first, last = scales[0], scales[-1]
        for what in ("read", "search", "similar"):
            if what not in first or what not in last:
                continue
            growth = round(last[what]["p95_ms"] / first[what]["p95_ms"], 2) if first[what]["p95_ms"] else None
            checks.append(
                (
                    f"{what} p95 growth {first['scale']} -> {last['scale']} < 2x",
                    f"{first[what]['p95_ms']} -> {last[what]['p95_ms']} ms ({growth}x)",
                    growth is not None and growth < 2,
                )
            )
    return checks


def render(report: dict) -> str:
    lines = [
        f"Run of {report['finished_at']} ({'quick' if report['quick'] else 'full'} mode, wrk {CFG.wrk_threads} threads "
        f"x {CFG.connections} connections, {report['config']['duration']} s per scenario, gunicorn "
        f"{CFG.web_workers} workers x {CFG.web_threads} threads for both; run took {report['elapsed_s']} s).",
        "",
        "| scenario | Nexus request | Nexus req/s | Nexus p50 / p95 / p99 ms | Nexus errors | baseline req/s "
        "| baseline p50 / p95 / p99 ms | req/s ratio | p95 ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *[fmt_row(r) for r in report["results"]],
        "",
        "Scale (tweets in the table; reads and searches above, lifecycle below):",
        "",
        "| tweets | seeding s | read p95 ms | search p95 ms | similar p95 ms | lifecycle_run |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in report["scales"]:
        lc = s["lifecycle"]
        lc_text = (
            f"{lc['migrated']} migrated in {lc['lifecycle_run_seconds']} s ({lc['migrated_per_s']}/s)"
            if "migrated" in lc
            else "not available: " + (lc.get("skipped") or lc.get("error", ""))
        )
        lines.append(
            f"| {s['scale']} | {s['seed_seconds']} | {s['read']['p95_ms']} | {s['search']['p95_ms']} "
            f"| {s.get('similar', {}).get('p95_ms', 'n/a')} | {lc_text} |"
        )
    lines += ["", "Targets (ratios to the baseline measured in the same run):", ""]
    for label, text, ok in report["targets"]:
        mark = "met" if ok else ("not measured" if ok is None else "**missed**")
        lines.append(f"- {label}: {text} — {mark}")
    m = report["machine"]
    lines += ["", "Machine: " + ", ".join(f"{k} {v}" for k, v in m.items()), ""]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    DOC.parent.mkdir(exist_ok=True)
    current = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{DOC_START}\n{DOC_END}\n"
    if DOC_START not in current:
        current += f"\n{DOC_START}\n{DOC_END}\n"
    head, _, rest = current.partition(DOC_START)
    _, _, tail = rest.partition(DOC_END)
    DOC.write_text(f"{head}{DOC_START}\n{text}\n{DOC_END}{tail}")


# --- main -------------------------------------------------------------------------------------------
def setup(procs: Processes) -> tuple[Bench, list[str], bool]:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    CFG.var_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(CFG.var_dir / "profiles", ignore_errors=True)
    log("recreating the bench databases")
    recreate_database(CFG.database_url)
    recreate_database(CFG.baseline_database_url)
    manage("migrate", "--noinput", "-v0")
    run(
        [str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"],
        cwd=BENCH / "baseline",
        extra_env=baseline_env(),
    )
    log(f"creating {CFG.users} users with tokens")
    lines = manage("create_user", "bench", "--count", str(CFG.users)).stdout.split("\n")
    tokens = [ln.split()[1] for ln in lines if ln.strip()]
    tokens_file = CFG.var_dir / "tokens.txt"
    tokens_file.write_text("\n".join(tokens) + "\n")
    # The baseline's table: 1000 rows to read and increment.
    run(
        [
            str(BIN / "python"),
            "manage.py",
            "shell",
            "-c",
            "from bare.models import Item; Item.objects.bulk_create(Item(text=f'seed {i}') for i in range(1000))",
        ],
        cwd=BENCH / "baseline",
        extra_env=baseline_env(),
    )
    gunicorn = [
        str(BIN / "gunicorn"),
        "--workers",
        str(CFG.web_workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(CFG.web_threads),
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]
    nexus_master = procs.start(
        "web", [*gunicorn, "--bind", f"127.0.0.1:{CFG.port}", "nexus.wsgi:application"], cwd=ROOT, extra_env=nexus_env()
    ).pid
    procs.start(
        "baseline",
        [*gunicorn, "--bind", f"127.0.0.1:{CFG.baseline_port}", "bare.wsgi:application"],
        cwd=BENCH / "baseline",
        extra_env=baseline_env(),
    )
    procs.start(
        "worker",
        [str(BIN / "celery"), "-A", "nexus", "worker", "--concurrency", "2", "--loglevel", "WARNING"],
        cwd=ROOT,
        extra_env=nexus_env(),
    )
    procs.start(
        "beat",
        [
            str(BIN / "celery"),
            "-A",
            "nexus",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(CFG.var_dir / "celerybeat-schedule"),
        ],
        cwd=ROOT,
        extra_env=nexus_env(),
    )
    nexus = f"http://127.0.0.1:{CFG.port}"
    baseline = f"http://127.0.0.1:{CFG.baseline_port}"
    wait_http(f"{nexus}/healthz")
    wait_http(f"{baseline}/items/1")
    bench = Bench(nexus=nexus, baseline=baseline, tokens=tokens_file, nexus_master=nexus_master)
    bench.baseline_ids = list(range(1, 1001))
    status, payload = http("POST", f"{nexus}/api/v1/tweets", token=tokens[0], body={"text": "bench smoke"})
    if status != 201:
        raise RuntimeError(f"Nexus did not accept a post: {status} {payload}")
    procs.check_alive()
    return bench, tokens, lifecycle_commands()


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGHUP, _interrupted)
    started = time.monotonic()
    procs = Processes()
    try:
        bench, tokens, lifecycle_ok = setup(procs)
        base_scale = CFG.scales[0] if CFG.scales else 10_000
        log(f"seeding {base_scale} tweets")
        seed("tweets", "--total", str(base_scale))
        lifecycle = None
        if lifecycle_ok and (not CFG.only or CFG.only & {"read_warm", "read_cold"}):
            try:
                lifecycle = synth_and_migrate()
                log(f"warm/cold seed: {lifecycle}")
            except RuntimeError as exc:
                log(f"warm/cold: not available: {exc}")
        else:
            log("warm/cold: not available: manage.py has no seed_synthetic / lifecycle_run yet")
        log(f"settling: {seed('settle').strip()}")
        main_scenarios(bench, tokens, lifecycle)
        procs.check_alive()
        scales = [scale_scenarios(bench, scale, lifecycle_ok) for scale in CFG.scales]
        procs.check_alive()
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        log(f"run failed: {exc}")
        return 1
    finally:
        procs.stop_all()
        try:
            cache_clear()
        except (RuntimeError, OSError) as exc:
            log(f"could not clear the bench's cache keys: {exc}")
    report = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": QUICK,
        "elapsed_s": round(time.monotonic() - started, 1),
        "config": {
            k: (str(v) if isinstance(v, Path) else sorted(v) if isinstance(v, set) else v)
            for k, v in CFG.__dict__.items()
            if "url" not in k
        },
        "machine": machine(),
        "results": bench.results,
        "scales": scales,
        "lifecycle_seed": lifecycle,
        "profiles": bench.profiles,
    }
    report["targets"] = targets(bench.results, scales)
    CFG.results.write_text(json.dumps(report, indent=2) + "\n")
    text = render(report)
    write_doc(text)
    print(text)
    for name, summary in bench.profiles.items():
        for kind in ("inclusive", "self"):
            print(f"\nprofile {name} ({kind} % of request samples):")
            for frame, share in summary.get(kind, [])[:40]:
                print(f"  {share:5.1f}%  {frame}")
    log(f"wrote {CFG.results} and {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
