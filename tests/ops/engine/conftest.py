"""The real Docker engine for the deploy suite: started when needed, stand-ins, a fresh host.

The engine is the machine's own dockerd (Debian's docker.io, installed by
scripts/install-test-tools.d/deploy.sh); when it is not running the suite starts it and stops
it again at the end. Nothing is pulled: the images the project names are stand-ins built from
Debian packages (tests/ops/engine/standins.py), cached on the machine. The stack publishes only
on 127.0.0.1 (docker-compose.test.yml) and owns 127.0.0.1:80/443 while it runs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.ops.engine import guide
from tests.ops.engine.standins import REPO, ensure_standins

ENGINE = Path(__file__).resolve().parent
OVERRIDE = "tests/ops/engine/docker-compose.test.yml"
FREEMARKET = str(REPO / ".venv" / "bin" / "freemarket")
DOCKERD_LOG = Path("/tmp/freemarket-test-dockerd.log")
PROJECT = "freemarket"
DOMAIN = "localhost"


def _unavailable(reason: str) -> None:
    # Under CI nothing may skip: a missing engine is a failure to fix, not a pass.
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires the real engine")
    pytest.skip(reason)


def _engine_answers() -> bool:
    done = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=30)
    return done.returncode == 0


# Step -> seconds, in the order measured; printed in the terminal summary (where pytest does
# not capture output) and written as JSON beside the dockerd log for docs/benchmarks.md.
TIMINGS: dict[str, float] = {}
TIMINGS_FILE = Path("/tmp/freemarket-test-engine-timings.json")


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Record how long a step took."""
    started = time.monotonic()
    try:
        yield
    finally:
        TIMINGS[step] = time.monotonic() - started


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Each step's duration, once the suite is done."""
    if not TIMINGS:
        return
    terminalreporter.section("real engine: seconds per step")
    for step, seconds in TIMINGS.items():
        terminalreporter.write_line(f"{seconds:7.1f}  {step}")
    TIMINGS_FILE.write_text(json.dumps(TIMINGS, indent=1) + "\n")


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[None]:
    """A running Docker engine with the compose plugin; started here (and stopped) if needed."""
    for tool in ("docker", "dockerd", "debootstrap"):
        if shutil.which(tool) is None:
            _unavailable(f"`{tool}` is not installed (run `make test-tools`)")
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if version.returncode != 0:
        _unavailable("the docker compose v2 plugin is missing (run `make test-tools`)")
    started: subprocess.Popen[bytes] | None = None
    begun = time.monotonic()
    if not _engine_answers():
        if os.geteuid() != 0:
            _unavailable("dockerd is not running and starting it needs root")
        log = DOCKERD_LOG.open("ab")
        started = subprocess.Popen(
            ["dockerd", "--storage-driver=overlay2"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not _engine_answers():
            if started.poll() is not None or time.monotonic() > deadline:
                _unavailable(f"dockerd did not start; see {DOCKERD_LOG}")
            time.sleep(0.5)
        TIMINGS["start dockerd"] = time.monotonic() - begun
    # node-exporter mounts / with rslave propagation, which needs a shared root mount.
    subprocess.run(["mount", "--make-rshared", "/"], check=False, capture_output=True)
    try:
        yield
    finally:
        if started is not None:
            os.killpg(started.pid, signal.SIGTERM)
            started.wait(timeout=60)


@pytest.fixture(scope="session")
def standin_images(docker_engine: None) -> list[str]:
    """The stand-ins for every image the project pulls (built once per machine)."""
    with timed("stand-in images (built once per machine, then a label check)"):
        return [item.image for item in ensure_standins(REPO)]


@dataclass
class Host:
    """A fresh server directory holding a checkout, and the commands an operator runs there."""

    path: Path
    env: dict[str, str]
    telegram_port: int
    settings: dict[str, str]
    # (block, line) of every README guide line run so far: the suite must run them all.
    followed: set[tuple[str, str]] = field(default_factory=set)

    def guide(
        self, block: str, prefix: str, *extra: str, check: bool = True, **placeholders: str
    ) -> subprocess.CompletedProcess[str]:
        """Run the README guide's line starting with `prefix` (plus `extra` arguments)."""
        argv = guide.command(block, prefix, DOMAIN, **placeholders)
        assert argv[0] == "freemarket", argv
        self.followed.add((block, guide.line(block, prefix)))
        return self.run(*argv[1:], *extra, check=check)

    def edit_env(self) -> None:
        """What the guide's "edit .env" comment asks, with generated secrets."""
        env = self.path / ".env"
        env.write_text(env_file(env.read_text(), self.settings))

    def run(
        self, *args: str, timeout: float = 900, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run `freemarket ARGS` in the host directory, as the operator would."""
        done = subprocess.run(
            [FREEMARKET, *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"freemarket {' '.join(args)} exited {done.returncode}\n"
                f"--- stdout\n{done.stdout[-6000:]}\n--- stderr\n{done.stderr[-3000:]}"
            )
        return done

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a docker command against the engine (for what an operator's hands do)."""
        return subprocess.run(
            ["docker", *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=check,
        )

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`docker compose` with the host's compose files."""
        files = ["-f", "docker-compose.prod.yml", "-f", OVERRIDE]
        return self.docker("compose", *files, *args, check=check)

    def commit(self, message: str) -> str:
        """Commit the host checkout (a new release) and return its short hash."""
        git = ["git", "-c", "user.name=ops", "-c", "user.email=ops@example.invalid"]
        subprocess.run([*git, "add", "-A"], cwd=self.path, check=True, capture_output=True)
        subprocess.run(
            [*git, "commit", "-q", "--allow-empty", "-m", message],
            cwd=self.path,
            check=True,
            capture_output=True,
        )
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=self.path,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()


def copy_checkout(target: Path) -> None:
    """Copy the worktree's current files (tracked and new, not ignored) into `target`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if not source.is_file():
            continue  # deleted in the worktree but not yet committed
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)


def env_file(example: str, settings: dict[str, str]) -> str:
    """`.env.example` with `settings` filled in, as an operator edits it."""
    lines, seen = [], set()
    for line in example.splitlines():
        key = line.split("=", 1)[0]
        if not line.startswith("#") and key in settings:
            lines.append(f"{key}={settings[key]}")
            seen.add(key)
        else:
            lines.append(line)
    lines += [f"{key}={value}" for key, value in settings.items() if key not in seen]
    return "\n".join(lines) + "\n"


def _remove_stack() -> None:
    """Remove the test project's containers, volumes and network (a previous run's too)."""
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)
    volumes = subprocess.run(
        ["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if volumes:
        subprocess.run(["docker", "volume", "rm", "-f", *volumes], capture_output=True, check=False)
    subprocess.run(["docker", "network", "rm", f"{PROJECT}_default"], capture_output=True)


@pytest.fixture(scope="module")
def host(standin_images: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    """A fresh server directory holding the checkout as one commit (test 1 writes `.env`)."""
    _remove_stack()
    path = tmp_path_factory.mktemp("server") / "freemarket"
    path.mkdir()
    copy_checkout(path)
    telegram_port = free_port()
    token = f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(24)}"
    settings = {
        "ENVIRONMENT": "production",
        "DB_PASSWORD": secrets.token_urlsafe(24),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "TELEGRAM_BOT_TOKEN": token,
        "DOMAIN": DOMAIN,
        "PUBLIC_URL": f"https://{DOMAIN}",
        # The test's own additions: its compose override and the fake Bot API beside the bot.
        "COMPOSE_FILE": f"docker-compose.prod.yml:{OVERRIDE}",
        "TELEGRAM_API_URL": "http://telegram:8081",
        "TELEGRAM_FAKE_PORT": str(telegram_port),
        # The load loop sends far more searches per minute than one person would.
        "RATE_LIMIT_SEARCH_PER_MINUTE": "1000000",
    }
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    server = Host(path, env, telegram_port, settings)
    server.commit("release 1")
    try:
        yield server
    finally:
        if os.environ.get("FREEMARKET_KEEP_STACK") != "1":
            _remove_stack()
