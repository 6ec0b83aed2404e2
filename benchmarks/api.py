"""HTTP API throughput and latency against a hello-world FastAPI app, both driven by wrk.

    flock /work/bench.lock .venv/bin/python -m benchmarks.api            # everything
    flock /work/bench.lock .venv/bin/python -m benchmarks.api --only reads --duration 5

The data set (database `fm_bench_api` on the local PostgreSQL) is the synthetic corpus of
`benchmarks/corpus.py` (100k items by default, ~10k users), matched by a full recompute, so
every user has stored matches and web notifications. It is built once and reused while it
still has the requested number of items (`--fresh` rebuilds it).

Both servers run the same uvicorn, one process each (as `freemarket serve` starts it), and
wrk drives them with the same threads and connections; every figure is printed next to its
ratio to the hello-world run of the same invocation, so a busy machine shifts both sides.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

DATABASE = "fm_bench_api"
ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/11"

# The targets of issue 14.
READ_RPS_RATIO = 0.40
READ_P99_MS = 50.0
READ_CONNECTIONS = 32
POST_P99_MS = 100.0
POST_CONNECTIONS = 8
TWO_WORKERS_RATIO = 1.6
OVERLOAD_CONNECTIONS = 128
HEALTH_P99_MS = 100.0
# "Refused quickly rather than queued for seconds": every answer under overload, 503 or not.
OVERLOAD_P99_MS = 250.0

# The benchmark raises the limits (through settings, as an operator would); production keeps
# the defaults.
BENCH_ENV = {
    "RATE_LIMIT_SEARCH_PER_MINUTE": "100000000",
    "RATE_LIMIT_WRITE_PER_MINUTE": "100000000",
    "RATE_LIMIT_SIGNIN_PER_MINUTE": "100000000",
}


# --- the hello-world baseline ---------------------------------------------------------------


def hello_app() -> Any:
    """The baseline: FastAPI answering a constant JSON object, nothing else."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"message": "hello world"}

    return app


def serve_hello(port: int, workers: int) -> None:
    """Run the baseline with the uvicorn options `freemarket serve` uses."""
    import uvicorn

    uvicorn.run(
        "benchmarks.api:hello_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        proxy_headers=True,
    )


# --- wrk ------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian when missing (the only way this script installs)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is not installed; installing it with apt-get (Debian package 'wrk') ...")
    if os.geteuid() != 0:
        sys.exit("wrk is missing: run `sudo apt-get install wrk` and try again")
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("apt-get did not install wrk; install it and try again")
    return found


# Counts statuses per wrk thread (each has its own Lua state) and prints them as JSON at the end.
LUA_COMMON = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} ; no_retry_after = 0 end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 503 and headers["Retry-After"] == nil and headers["retry-after"] == nil then
    no_retry_after = no_retry_after + 1
  end
end
function done(summary, latency, requests)
  local total = {} ; local missing = 0
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("statuses")) do total[tostring(s)] = (total[tostring(s)] or 0) + n end
    missing = missing + t:get("no_retry_after")
  end
  local parts = {}
  for s, n in pairs(total) do table.insert(parts, string.format('"%s": %d', s, n)) end
  io.write(string.format('STATUSES {%s} NO_RETRY_AFTER %d\\n', table.concat(parts, ", "), missing))
end
"""


def _lua_string(value: str) -> str:
    """`value` as a Lua string literal: printable ASCII as is, every other byte as \\ddd."""
    # Not a JSON literal: wrk's LuaJIT refuses its \uXXXX escapes, the script then fails to
    # load and wrk sends bare requests (every POST body was lost that way, answered 4xx).
    return (
        '"'
        + "".join(
            chr(byte) if 32 <= byte < 127 and byte not in b'"\\' else f"\\{byte:03d}"
            for byte in value.encode("utf-8")
        )
        + '"'
    )


def lua_script(
    paths: list[str],
    *,
    method: str = "GET",
    bodies: list[str] | None = None,
    callers: list[tuple[int, str, str]] | None = None,
) -> str:
    """A wrk script: per request a random path, body and caller; statuses are counted.

    `callers` are (user id, header name, header value): the header signs the request in, and
    `{me}` in a path becomes that user's id, so many people use the server at once.
    """
    path_list = ", ".join(_lua_string(p) for p in paths)
    body_list = ", ".join(_lua_string(b) for b in bodies or [])
    caller_list = ", ".join(
        f"{{{_lua_string(str(uid))}, {_lua_string(name)}, {_lua_string(value)}}}"
        for uid, name, value in callers or []
    )
    return (
        LUA_COMMON
        + f"local paths = {{{path_list}}}\nlocal bodies = {{{body_list}}}\n"
        + f"local callers = {{{caller_list}}}\n"
        + "request = function()\n"
        + "  local path = paths[math.random(#paths)]\n"
        + "  local headers = {}\n"
        + "  for name, value in pairs(wrk.headers) do headers[name] = value end\n"
        + "  if #callers > 0 then\n"
        + "    local caller = callers[math.random(#callers)]\n"
        + '    path = path:gsub("{me}", caller[1])\n'
        + "    headers[caller[2]] = caller[3]\n"
        + "  end\n"
        + "  local body = nil\n"
        + "  if #bodies > 0 then body = bodies[math.random(#bodies)] end\n"
        + f'  return wrk.format("{method}", path, headers, body)\n'
        + "end\n"
    )


@dataclass
class WrkResult:
    """What one wrk run measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    statuses: dict[str, int] = field(default_factory=dict)
    errors: str = ""
    no_retry_after: int = 0
    # CPU time per request of the server's processes and of its PostgreSQL backends: unlike
    # rps and latency, these hardly move when other processes compete for the cores.
    app_cpu_us: float | None = None
    db_cpu_us: float | None = None
    # wrk's own CPU per request: on 2 cores the load generator takes its share too.
    client_cpu_us: float | None = None

    @property
    def non_2xx(self) -> int:
        """Answers that were not 2xx."""
        return sum(n for s, n in self.statuses.items() if not s.startswith("2"))


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Requests per second, p50/p99 latency, status counts and errors from wrk's output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Socket errors:.*", output)
    statuses_match = re.search(r"STATUSES (\{.*\}) NO_RETRY_AFTER (\d+)", output)
    statuses = json.loads(statuses_match.group(1)) if statuses_match else {}
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if refused and not statuses:
        # The script's status counts are missing (it failed to load): still never an OK.
        statuses = {"non-2xx": int(refused.group(1))}
    return WrkResult(
        rps=rps,
        p50_ms=p50,
        p99_ms=p99,
        requests=requests,
        statuses=statuses,
        errors=errors.group(0) if errors else "",
        no_retry_after=int(statuses_match.group(2)) if statuses_match else 0,
    )


class Wrk:
    """Runs wrk with one set of options against any server."""

    def __init__(self, binary: str, *, duration: float, threads: int, workdir: Path) -> None:
        self.binary = binary
        self.duration = duration
        self.threads = threads
        self.workdir = workdir
        self._scripts = 0

    def command(
        self,
        base_url: str,
        paths: list[str],
        *,
        connections: int,
        headers: dict[str, str] | None = None,
        method: str = "GET",
        bodies: list[str] | None = None,
        callers: list[tuple[int, str, str]] | None = None,
        duration: float | None = None,
        threads: int | None = None,
    ) -> list[str]:
        """The wrk command line for these requests."""
        self._scripts += 1
        script = self.workdir / f"wrk_{self._scripts}.lua"
        script.write_text(lua_script(paths, method=method, bodies=bodies, callers=callers))
        threads = min(threads or self.threads, connections)
        cmd = [
            self.binary,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{round(duration or self.duration)}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
        ]
        for name, value in (headers or {}).items():
            cmd += ["-H", f"{name}: {value}"]
        return [*cmd, base_url]

    def run(self, base_url: str, paths: list[str], **options: Any) -> WrkResult:
        """Run wrk to completion and parse what it printed, with the server's CPU per request."""
        server = SERVERS.get(base_url)
        before = cpu_snapshot(server) if server else None
        client_before = _children_cpu()
        out = subprocess.run(
            self.command(base_url, paths, **options), capture_output=True, text=True, check=True
        )
        result = parse_wrk(out.stdout)
        if result.requests:
            result.client_cpu_us = (_children_cpu() - client_before) / result.requests * 1e6
        if server and before and result.requests:
            after = cpu_snapshot(server)
            result.app_cpu_us = (after[0] - before[0]) / result.requests * 1e6
            if server.database:
                result.db_cpu_us = _grown(before[1], after[1]) / result.requests * 1e6
        return result


# --- CPU accounting -------------------------------------------------------------------------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Server:
    """A server process group started by `running`, and the database its backends serve."""

    pgid: int
    database: str | None


# Base URL -> the server answering there, so every wrk run can charge it the CPU it used.
SERVERS: dict[str, Server] = {}


def _children_cpu() -> float:
    """CPU seconds used by this process's finished children (the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _proc_stat(pid: str) -> tuple[int, float] | None:
    """(process group, user+system CPU seconds) of one process, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # After the command name: state ppid pgrp ... utime (11th) stime (12th).
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _backend_pids(database: str) -> list[int]:
    """The PostgreSQL backends connected to `database` right now."""
    import psycopg2

    with (
        contextlib.closing(psycopg2.connect(host="127.0.0.1", user="postgres")) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))
        return [pid for (pid,) in cursor.fetchall()]


def cpu_snapshot(server: Server) -> tuple[float, dict[int, float]]:
    """CPU seconds used so far by the server's processes, and by each of its backends."""
    app = 0.0
    for pid in os.listdir("/proc"):
        if pid.isdigit() and (stat := _proc_stat(pid)) is not None and stat[0] == server.pgid:
            app += stat[1]
    backends: dict[int, float] = {}
    for pid in _backend_pids(server.database) if server.database else []:
        if (stat := _proc_stat(str(pid))) is not None:
            backends[pid] = stat[1]
    return app, backends


def _grown(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the backends used between two snapshots (new ones count from zero)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


# --- the data set ---------------------------------------------------------------------------


def _database_url(name: str) -> str:
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def prepare_database(n: int, *, fresh: bool) -> str:
    """The benchmark database with at least n items, matched; built only when needed."""
    from benchmarks.pipeline import fresh_database, load_corpus
    from freemarket.db import migrate
    from freemarket.db.models import Item, Match
    from freemarket.db.session import make_engine, session_factory
    from freemarket.infra.settings import Settings
    from freemarket.matching.recompute import recompute
    from freemarket.matching.worker import thresholds_from

    url = _database_url(DATABASE)
    if not fresh:
        try:
            engine = make_engine(url)
            with engine.connect() as conn:
                items = conn.scalar(select(func.count()).select_from(Item))
                matches = conn.scalar(select(func.count()).select_from(Match))
            if items >= n and matches:
                migrate.upgrade(engine)  # a database built by an older branch: bring it up
                print(f"reusing database {DATABASE}: {items} items, {matches} matches")
                return url
        except OperationalError:
            pass
    started = time.perf_counter()
    url = fresh_database(DATABASE)
    load_corpus(url, n)
    engine = make_engine(url)
    with session_factory(engine)() as session:
        report = recompute(session, thresholds=thresholds_from(Settings(_env_file=None)))
        session.commit()
    with engine.connect() as conn:
        conn.execute(text("COMMIT"))
        conn.execute(text("VACUUM ANALYZE"))
    print(
        f"built database {DATABASE}: {n} items, {report.totals.added} matches, "
        f"{report.totals.notified} notifications in {time.perf_counter() - started:.0f} s"
    )
    return url


@dataclass
class Subjects:
    """Who the requests come from and what they ask about."""

    # (user id, bearer token, cookie token, stored matches) of each signed-in caller.
    callers: list[tuple[int, str, str, int]]
    item_ids: list[int]
    user_ids: list[int]

    def auth(self, kind: str) -> list[tuple[int, str, str]]:
        """Each caller's sign-in header for a bearer token or a cookie session."""
        if kind == "bearer":
            return [
                (uid, "Authorization", f"Bearer {bearer}") for uid, bearer, _, _ in self.callers
            ]
        return [(uid, "Cookie", f"fm_session={cookie}") for uid, _, cookie, _ in self.callers]

    def describe(self) -> str:
        """How many callers and how many matches they have."""
        counts = sorted(n for *_, n in self.callers)
        median = counts[len(counts) // 2]
        return (
            f"{len(counts)} callers; stored matches per caller: median {median}, max {counts[-1]}"
        )


def pick_subjects(url: str, callers: int) -> Subjects:
    """Random people who have matches, each signed in twice (bearer and cookie), and random ids."""
    from freemarket.db.models import Item, Match
    from freemarket.db.session import make_engine, session_factory
    from freemarket.domain import sessions, users

    engine = make_engine(url)
    rng = random.Random(14)
    with session_factory(engine)() as session:
        per_user = dict(
            session.execute(
                select(Item.user_id, func.count())
                .join(Match, (Match.want_item_id == Item.id) | (Match.offer_item_id == Item.id))
                .group_by(Item.user_id)
            ).all()
        )
        chosen = rng.sample(sorted(per_user), callers)
        ttl = timedelta(hours=2)
        signed_in = []
        for user_id in chosen:
            user = users.get_user(session, user_id)
            bearer = sessions.issue_token(session, user=user, ttl=ttl, origin="bench").token
            cookie = sessions.issue_token(session, user=user, ttl=ttl, origin="bench").token
            signed_in.append((user_id, bearer, cookie, per_user[user_id]))
        top = session.scalar(select(func.max(Item.id)))
        item_ids = rng.sample(range(1, top + 1), 2000)
        top_user = session.scalar(select(func.max(Item.user_id)))
        user_ids = rng.sample(range(1, top_user + 1), 1000)
        session.commit()
    return Subjects(signed_in, item_ids, user_ids)


# --- servers --------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running(
    cmd: list[str], *, port: int, env: dict[str, str], log: Path, database: str | None = None
) -> Iterator[str]:
    """Start a server process, wait for /health or /hello, yield its base URL, stop it.

    `database`: the one its PostgreSQL backends serve, so their CPU is charged to it too.
    """
    base = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                sys.exit(f"server exited with {proc.returncode}; see {log}")
            try:
                if httpx.get(base + "/hello", timeout=1).status_code == 200:
                    break
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"server did not start within 60 s; see {log}")
            time.sleep(0.2)
        SERVERS[base] = Server(proc.pid, database)
        yield base
    finally:
        SERVERS.pop(base, None)
        # The whole process group: uvicorn with --workers forks children.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def hello_command(port: int, workers: int) -> list[str]:
    """The command line of the baseline server."""
    return [
        sys.executable,
        "-c",
        f"from benchmarks.api import serve_hello; serve_hello({port}, {workers})",
    ]


def serve_command(port: int, workers: int) -> list[str]:
    """`freemarket serve` as an operator runs it."""
    binary = Path(sys.executable).with_name("freemarket")
    return [str(binary), "serve", "--port", str(port), "--workers", str(workers)]


# --- the report -----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    """OK or MISS."""
    return "OK" if ok else "MISS"


@dataclass
class Row:
    """One line of the report."""

    name: str
    result: WrkResult
    ratio: float | None
    status: str
    note: str = ""


def print_row(row: Row) -> None:
    """Print one line of the table as soon as it is measured."""
    ratio = f"{row.ratio:5.2f}" if row.ratio is not None else "    -"
    bad = f" non-2xx {row.result.non_2xx}" if row.result.non_2xx else ""
    errors = f" [{row.result.errors}]" if row.result.errors else ""
    cpu = ""
    if row.result.app_cpu_us is not None:
        cpu = f"  cpu/req app {row.result.app_cpu_us:5.0f} us"
        if row.result.db_cpu_us is not None:
            cpu += f" db {row.result.db_cpu_us:5.0f} us"
        if row.result.client_cpu_us is not None:
            cpu += f" wrk {row.result.client_cpu_us:4.0f} us"
    print(
        f"{row.name:<52} {row.result.rps:8.0f} rps  ratio {ratio}  "
        f"p50 {row.result.p50_ms:6.1f} ms  p99 {row.result.p99_ms:7.1f} ms{cpu}  "
        f"{row.status}{bad}{errors} {row.note}".rstrip(),
        flush=True,
    )


def read_routes(subjects: Subjects) -> list[tuple[str, list[str]]]:
    """The hot read routes, each with the paths wrk picks from ({me}: the caller's id)."""
    return [
        ("GET /api/categories", ["/api/categories"]),
        ("GET /api/items?limit=20", ["/api/items?limit=20"]),
        (
            "GET /api/items?kind&category&city (filters)",
            [
                f"/api/items?kind={kind}&category={cat}&city={city}&limit=20"
                for kind in ("offer", "want")
                for cat in ("phones", "books", "furniture", "kids")
                for city in (quote("Москва"), quote("Казань"))
            ],
        ),
        ("GET /api/items/{id}", [f"/api/items/{i}" for i in subjects.item_ids]),
        ("GET /api/matches/{me}", ["/api/matches/{me}"]),
        ("GET /api/matches/{me}/trades", ["/api/matches/{me}/trades"]),
        ("GET /api/notifications", ["/api/notifications"]),
        ("GET /api/users/{id}", [f"/api/users/{u}" for u in subjects.user_ids]),
    ]


def item_bodies(count: int) -> list[str]:
    """POST /api/items/ bodies drawn from the synthetic corpus."""
    from benchmarks.corpus import generate

    return [
        json.dumps(
            {
                "kind": x.kind,
                "category": x.category,
                "title": x.title,
                "description": x.description,
                "city": x.city or "Москва",
                "delivery": x.delivery,
            },
            ensure_ascii=False,
        )
        for x in generate(count, seed=1414)
    ]


CHECKED_CALLERS = 3


def check_answers(base: str, subjects: Subjects) -> None:
    """Every benchmarked request answers 200 with a real body before anything is timed."""
    for kind in ("bearer", "cookie"):
        for user_id, name, value in subjects.auth(kind)[:CHECKED_CALLERS]:
            for route, paths in read_routes(subjects):
                path = paths[0].replace("{me}", str(user_id))
                response = httpx.get(base + path, headers={name: value}, timeout=30)
                if response.status_code != 200:
                    sys.exit(f"{route} [{kind}]: {response.status_code} {response.text[:200]}")
    sizes = {
        route: len(httpx.get(base + paths[0].replace("{me}", str(uid)), headers={n: v}).content)
        for route, paths in read_routes(subjects)
        for uid, n, v in subjects.auth("bearer")[:1]
    }
    print(f"  every route answers 200 for {CHECKED_CALLERS} callers; body sizes for the first:")
    for route, size in sizes.items():
        print(f"    {route}: {size} bytes")


class Baseline:
    """The hello-world server, measured right before and right after each measured route.

    Other processes come and go on a shared machine; bracketing every figure with baseline
    runs and dividing by their mean keeps the ratio fair when the machine's load drifts.
    """

    def __init__(self, wrk: Wrk, base: str) -> None:
        self.wrk = wrk
        self.base = base
        self.last: WrkResult | None = None
        self.runs: list[WrkResult] = []

    def measure(self) -> WrkResult:
        """One baseline run at the read-route connection count."""
        self.last = self.wrk.run(self.base, ["/hello"], connections=READ_CONNECTIONS)
        self.runs.append(self.last)
        return self.last

    def bracket(self, measure: Any) -> tuple[WrkResult, float, float]:
        """Run `measure()` between two baseline runs: (its result, ratio, baseline p99)."""
        before = self.last or self.measure()
        result = measure()
        after = self.measure()
        rps = (before.rps + after.rps) / 2
        return result, result.rps / rps, max(before.p99_ms, after.p99_ms)


def main() -> None:
    """Parse arguments, build or reuse the data set, run the selected parts, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="items in the data set")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--fresh", action="store_true", help="rebuild the data set")
    parser.add_argument("--callers", type=int, default=50, help="signed-in people sending")
    parser.add_argument(
        "--only",
        choices=["reads", "post", "workers", "overload"],
        action="append",
        help="run only these parts (repeatable); default all",
    )
    parser.add_argument("--routes", help="only read routes whose name contains this text")
    parser.add_argument("--auth", choices=["bearer", "cookie"], action="append")
    parser.add_argument(
        "--code",
        type=Path,
        help="serve the API from this checkout instead (e.g. a worktree of main: the 'before')",
    )
    args = parser.parse_args()
    parts = set(args.only or ["reads", "post", "workers", "overload"])

    binary = ensure_wrk()
    url = prepare_database(args.n, fresh=args.fresh)
    subjects = pick_subjects(url, args.callers)
    print(subjects.describe())
    workdir = Path(tempfile.mkdtemp(prefix="fm_bench_api_"))
    wrk = Wrk(binary, duration=args.duration, threads=args.threads, workdir=workdir)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "DATA_DIR": str(workdir / "data"),
        **BENCH_ENV,
    }
    serve_env = dict(env)
    if args.code:
        # Ahead of the editable install on sys.path: `freemarket serve` runs that code.
        serve_env["PYTHONPATH"] = str(args.code.resolve())
        print(f"serving the API from {args.code}")
    log = workdir / "server.log"
    print(
        f"wrk -t{args.threads}, {args.duration} s per run, each figure between two hello-world "
        f"runs; server log {log}"
    )
    rows: list[Row] = []
    hello_port, port = free_port(), free_port()
    with (
        running(hello_command(hello_port, 1), port=hello_port, env=env, log=log) as hello,
        running(
            serve_command(port, 1), port=port, env=serve_env, log=log, database=DATABASE
        ) as base,
    ):
        baseline = Baseline(wrk, hello)
        first = baseline.measure()
        rows.append(Row("hello world (baseline, 1 worker)", first, 1.0, "-"))
        print_row(rows[-1])
        check_answers(base, subjects)

        def read(
            name: str,
            paths: list[str],
            callers: list[tuple[int, str, str]] | None = None,
            *,
            judged: bool = True,
        ) -> Row:
            result, ratio, hello_p99 = baseline.bracket(
                lambda: wrk.run(base, paths, connections=READ_CONNECTIONS, callers=callers)
            )
            ok = ratio >= READ_RPS_RATIO and result.p99_ms <= READ_P99_MS
            row = Row(
                name,
                result,
                ratio,
                verdict(ok and not result.non_2xx) if judged else "-",
                f"(hello-world p99 {hello_p99:.1f} ms)",
            )
            rows.append(row)
            print_row(row)
            return row

        read("GET /health (for reference)", ["/health"], judged=False)
        slowest: tuple[float, str, list[str]] | None = None
        if "reads" in parts:
            for auth in args.auth or ["bearer", "cookie"]:
                for name, paths in read_routes(subjects):
                    if args.routes and args.routes not in name:
                        continue
                    row = read(f"{name} [{auth}]", paths, subjects.auth(auth))
                    if slowest is None or row.result.rps < slowest[0]:
                        slowest = (row.result.rps, name, paths)
        if "post" in parts:
            bodies = item_bodies(500)
            result, ratio, hello_p99 = baseline.bracket(
                lambda: wrk.run(
                    base,
                    ["/api/items/"],
                    connections=POST_CONNECTIONS,
                    method="POST",
                    bodies=bodies,
                    headers={"Content-Type": "application/json"},
                    callers=subjects.auth("bearer"),
                )
            )
            ok = result.p99_ms <= POST_P99_MS and not result.non_2xx
            rows.append(
                Row(
                    f"POST /api/items/ [{POST_CONNECTIONS} connections]",
                    result,
                    ratio,
                    verdict(ok),
                    f"(target p99 <= {POST_P99_MS:g} ms; hello-world p99 {hello_p99:.1f} ms)",
                )
            )
            print_row(rows[-1])
        if slowest is None:
            slowest = (0.0, "GET /api/matches/{me}/trades", read_routes(subjects)[5][1])
        if "overload" in parts:
            overload(wrk, base, slowest[1], slowest[2], subjects.auth("bearer"), rows)
        one_worker: WrkResult | None = None
        route_name, route_paths = read_routes(subjects)[3]
        if "workers" in parts:
            warm_up(wrk, base, route_paths, subjects)
            one_worker = wrk.run(
                base, route_paths, connections=READ_CONNECTIONS, callers=subjects.auth("bearer")
            )
            rows.append(Row(f"{route_name} [1 worker]", one_worker, None, "-"))
            print_row(rows[-1])

    if one_worker is not None:
        port = free_port()
        with running(
            serve_command(port, 2), port=port, env=serve_env, log=log, database=DATABASE
        ) as base:
            warm_up(wrk, base, route_paths, subjects)
            two = wrk.run(
                base, route_paths, connections=READ_CONNECTIONS, callers=subjects.auth("bearer")
            )
        ratio = two.rps / one_worker.rps if one_worker.rps else 0.0
        print(two_core_ceiling(one_worker, two))
        rows.append(
            Row(
                f"{route_name} [--workers 2]",
                two,
                ratio,
                verdict(ratio >= TWO_WORKERS_RATIO and not two.non_2xx),
                f"(ratio to 1 worker; target >= {TWO_WORKERS_RATIO})",
            )
        )
        print_row(rows[-1])

    spread = [r.rps for r in baseline.runs]
    print(
        f"\nhello-world runs: {len(spread)}, {min(spread):.0f}-{max(spread):.0f} rps "
        "(the machine's drift during this run)"
    )
    misses = [r.name for r in rows if r.status == "MISS"]
    print(f"{len(misses)} miss(es)" + (": " + "; ".join(misses) if misses else ""))
    shutil.rmtree(workdir, ignore_errors=True)


WARM_UP_SECONDS = 2.0


def warm_up(wrk: Wrk, base: str, paths: list[str], subjects: Subjects) -> None:
    """Drive a freshly started server unmeasured first, as the one it is compared with was.

    /health answers as soon as the first process is up: the second of `--workers 2` may still
    be importing the app, and every process opens its pooled connections (each a PostgreSQL
    backend with cold caches) on its first requests. Measured cold, the two-worker run lost
    part of its 5 s to that and shed requests while its first ones were slow (issue 14).
    """
    wrk.run(
        base,
        paths,
        connections=READ_CONNECTIONS,
        callers=subjects.auth("bearer"),
        duration=WARM_UP_SECONDS,
    )


def two_core_ceiling(one: WrkResult, two: WrkResult) -> str:
    """What the machine's cores allow `--workers 2`, from the CPU each request costs."""
    if None in (two.app_cpu_us, two.db_cpu_us, two.client_cpu_us) or not one.rps:
        return "  (no CPU figures for the two-worker run)"
    per_request = two.app_cpu_us + two.db_cpu_us + two.client_cpu_us  # type: ignore[operator]
    cores = os.cpu_count() or 1
    ceiling = cores * 1e6 / per_request
    return (
        f"  CPU per request with 2 workers: app {two.app_cpu_us:.0f} + PostgreSQL "
        f"{two.db_cpu_us:.0f} + wrk {two.client_cpu_us:.0f} = {per_request:.0f} us; "
        f"{cores} cores allow at most {ceiling:.0f} rps = {ceiling / one.rps:.2f}x one worker"
    )


def overload(
    wrk: Wrk,
    base: str,
    name: str,
    paths: list[str],
    callers: list[tuple[int, str, str]],
    rows: list[Row],
) -> None:
    """128 connections on the slowest route while /health is probed on one connection."""
    flood = subprocess.Popen(
        wrk.command(base, paths, connections=OVERLOAD_CONNECTIONS, callers=callers),
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(min(2.0, wrk.duration / 4))  # let the backlog build up first
    probe = wrk.run(
        base, ["/health"], connections=1, threads=1, duration=max(1.0, wrk.duration / 2)
    )
    flooded = parse_wrk(flood.communicate()[0])
    ok = flooded.p99_ms <= OVERLOAD_P99_MS and not flooded.no_retry_after
    refused = flooded.statuses.get("503", 0)
    rows.append(
        Row(
            f"{name} [{OVERLOAD_CONNECTIONS} connections, overload]",
            flooded,
            None,
            verdict(ok),
            f"(503: {refused}, without Retry-After: {flooded.no_retry_after}; "
            f"target p99 <= {OVERLOAD_P99_MS:g} ms)",
        )
    )
    print_row(rows[-1])
    rows.append(
        Row(
            "GET /health during the overload [1 connection]",
            probe,
            None,
            # No answer at all within the run is the worst miss, not a p99 of zero.
            verdict(probe.requests > 0 and probe.p99_ms <= HEALTH_P99_MS and not probe.non_2xx),
            f"(target p99 <= {HEALTH_P99_MS:g} ms)",
        )
    )
    print_row(rows[-1])


if __name__ == "__main__":
    main()
