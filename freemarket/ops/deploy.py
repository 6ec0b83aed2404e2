"""Deploys with docker compose: checked, backed up, migrated, rolled out replica by replica.

A deploy tags images with the git commit, migrates in a one-off container, starts the new
backend replicas next to the old ones, stops the old ones only once the new ones are healthy,
and checks /health/ready through nginx; when anything after the build fails, it puts the
previous tag back (schema included) and says why. History lives in DATA_DIR/deploy-state.json.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from freemarket.errors import FreeMarketError
from freemarket.infra.settings import Settings
from freemarket.ops.checks import FAIL, CheckOptions, preflight
from freemarket.ops.compose import (
    DEFAULT_COMPOSE_FILE,
    Command,
    Compose,
    Container,
    ContainerEngine,
    DockerEngine,
    first_line,
    run_streaming,
)
from freemarket.ops.tls import stack_trust

STATE_FILE = "deploy-state.json"
LOCK_FILE = "deploy.lock"
DEFAULT_KEEP_IMAGES = 5
BACKEND = "backend"
INFRA = ("db", "redis")
# Every other service of the compose files follows the backend to the new tag once it is
# through. nginx and the monitoring images do not change with a release, so `up` leaves them
# running (nginx only reloads its configuration): recreating nginx would refuse connections
# for a moment, and a deploy must lose no request.
WEB = "nginx"
# Only the application image is built; it carries the web UI, which nginx proxies to.
BUILT = (BACKEND,)
# The bot polls Telegram: two pollers would fight over updates (409 Conflict), so it stays 1.
SCALABLE = frozenset({BACKEND, "worker"})
MAINTENANCE_FLAG = "maintenance.on"
# A new replica counts as healthy only after this many polls in a row saw it healthy without a
# restart in between: one "healthy" sample can fall between two crashes of a crash loop.
HEALTHY_POLLS = 3
DRY = ""  # what a command "prints" in a dry run

Outcome = Literal["deployed", "rolled_back", "failed", "planned"]
BackupStep = Callable[[], str]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class DeployError(FreeMarketError):
    """A deploy, rollback or scale request that cannot go ahead."""


class DeployLocked(DeployError):
    """Another deploy holds the lock."""


class _RolloutFailed(Exception):
    """A step after the build failed; the message says why, for the rollback report."""


@dataclass(slots=True)
class DeployOptions:
    """Where and how to deploy; defaults are the production layout of the repository."""

    compose_file: Path = DEFAULT_COMPOSE_FILE
    project_dir: Path = field(default_factory=Path.cwd)
    data_dir: Path = Path("data")
    base_url: str = "http://127.0.0.1"
    env_file: Path = Path(".env")
    domain: str | None = None
    image: str = "freemarket"
    keep_images: int = DEFAULT_KEEP_IMAGES
    replicas: int | None = None
    pull: bool = False
    health_timeout: float = 180.0
    gate_timeout: float = 60.0
    poll_interval: float = 2.0
    docker: str = "docker"
    maintenance_dir: Path = Path("deploy/maintenance")
    # The stack's certificate (CERTS_DIR/fullchain.pem): the health gate trusts it when it is
    # self-signed, so a fresh server is checked over real TLS before a CA has signed anything.
    certificate: Path | None = None
    engine: ContainerEngine = field(default_factory=DockerEngine)

    def compose(self) -> Compose:
        """The compose runner for these options."""
        return Compose(
            file=self.compose_file,
            project_dir=self.project_dir,
            docker=self.docker,
            engine=self.engine,
        )

    @property
    def maintenance_flag(self) -> Path:
        """The file whose presence makes nginx serve the maintenance page (mounted into it)."""
        return self.project_dir / self.maintenance_dir / MAINTENANCE_FLAG


@dataclass(slots=True)
class Step:
    """One step of a deploy: the commands it ran (or would run) and how it ended."""

    name: str
    status: Literal["planned", "done", "failed", "skipped"] = "planned"
    detail: str = ""
    commands: list[str] = field(default_factory=list)


@dataclass(slots=True)
class DeployReport:
    """What a deploy or rollback did, step by step, and how it ended."""

    action: str
    tag: str
    previous: str | None
    outcome: Outcome = "planned"
    reason: str = ""
    steps: list[Step] = field(default_factory=list)
    started_at: str = field(default_factory=_now)
    finished_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return asdict(self)


# --- state and lock -------------------------------------------------------------------------


def load_state(data_dir: Path) -> dict[str, Any]:
    """The deploy state: current and previous tags, schema revisions and the history."""
    path = data_dir / STATE_FILE
    if not path.is_file():
        return {"current": None, "previous": None, "revisions": {}, "history": []}
    try:
        state = json.loads(path.read_text("utf-8"))
    except ValueError as exc:
        raise DeployError(f"{path} is not valid JSON: {exc}") from exc
    state.setdefault("revisions", {})
    state.setdefault("history", [])
    return state


def save_state(data_dir: Path, state: dict[str, Any]) -> None:
    """Write the deploy state atomically (a crash never leaves half a file)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / STATE_FILE
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(state, indent=2) + "\n", "utf-8")
    os.replace(scratch, path)


@contextlib.contextmanager
def deploy_lock(data_dir: Path) -> Iterator[Path]:
    """Hold DATA_DIR/deploy.lock for the block; refuse at once when someone else holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    # flock, not a pid file: the kernel releases it when the holder dies, so a crashed deploy
    # never leaves a stale lock behind.
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise DeployLocked(f"another deploy is running ({holder}); lock {path}") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {_now()}")
        handle.flush()
        try:
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def git_tag(project_dir: Path) -> str:
    """The short commit hash of the checkout: the tag of the images a deploy builds."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=project_dir,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DeployError(f"cannot read the git commit in {project_dir}; pass --tag") from exc
    return result.stdout.strip()


BACKUP_ARGS = ("run", "--rm", "-T", "backend", "backup", "create", "--json")


def backup_in_stack(compose: Compose, tag: str) -> BackupStep:
    """The pre-deploy backup, taken inside the running stack with the release now serving.

    The database port is never published, so the host cannot reach it; a one-off backend
    container on the stack's network can, and it carries the matching pg_dump.
    """

    def step() -> str:
        output = compose.run(*BACKUP_ARGS, tag=tag)
        try:
            backup_id = json.loads(output)["id"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DeployError("the backup container did not report a backup id") from exc
        return f"backup {backup_id}"

    return step


# --- the runner -----------------------------------------------------------------------------


class _Deployer:
    """Runs (or, dry, only lists) the steps of one deploy or rollback."""

    def __init__(self, options: DeployOptions, report: DeployReport, *, dry_run: bool) -> None:
        self.options = options
        self.compose = options.compose()
        self.report = report
        self.dry_run = dry_run

    # -- plumbing

    def step(self, name: str) -> Step:
        step = Step(name)
        self.report.steps.append(step)
        return step

    def do(self, step: Step, command: Command) -> str:
        # A poll repeats one command many times: the report lists it once.
        if not step.commands or step.commands[-1] != str(command):
            step.commands.append(str(command))
        if self.dry_run:
            return DRY
        try:
            return self.compose.execute(command).stdout
        except FreeMarketError as exc:
            step.status = "failed"
            step.detail = exc.message
            raise _RolloutFailed(f"{step.name}: {exc.message}") from exc

    def finish(self, step: Step, detail: str = "") -> None:
        step.status = "planned" if self.dry_run else "done"
        step.detail = detail or step.detail

    def compose_cmd(self, *args: str, tag: str | None = None) -> Command:
        return self.compose.command(*args, tag=tag)

    # -- steps

    def build(self, tag: str) -> None:
        step = self.step("build" if not self.options.pull else "pull")
        verb = "pull" if self.options.pull else "build"
        self.do(step, self.compose_cmd(verb, *BUILT, tag=tag))
        self.finish(step, f"image {self.options.image}:{tag}")

    def start_infra(self) -> None:
        step = self.step("start db and redis")
        self.do(step, self.compose_cmd("up", "-d", "--wait", *INFRA))
        self.finish(step)

    def revision(self, step: Step, tag: str) -> str | None:
        args = ("run", "--rm", "-T", BACKEND, "migrate", "status", "--json")
        out = self.do(step, self.compose_cmd(*args, tag=tag))
        if self.dry_run:
            return None
        try:
            return json.loads(out).get("current")
        except ValueError as exc:
            step.status = "failed"
            raise _RolloutFailed(f"migrate status printed no JSON: {first_line(out)}") from exc

    def migrate(self, tag: str) -> tuple[str | None, str | None]:
        step = self.step("migrate")
        before = self.revision(step, tag)
        self.do(step, self.compose_cmd("run", "--rm", "-T", BACKEND, "migrate", tag=tag))
        after = self.revision(step, tag)
        self.finish(step, f"schema {before or 'empty'} → {after}" if not self.dry_run else "")
        return before, after

    def downgrade(self, tag: str, revision: str | None, current: str | None) -> None:
        # The new image holds the newer migration scripts, so it is the one that can go back.
        if self.dry_run or revision is None or revision == current:
            return
        step = self.step("downgrade schema")
        args = ("run", "--rm", "-T", BACKEND, "migrate", "downgrade", revision)
        self.do(step, self.compose_cmd(*args, tag=tag))
        self.finish(step, f"schema back to {revision}")

    def backend_containers(self, step: Step) -> list[Container]:
        query = f"# engine: inspect the {BACKEND} containers (state, health, restarts)"
        if not step.commands or step.commands[-1] != query:
            step.commands.append(query)
        if self.dry_run:
            return []
        try:
            containers = self.compose.ps(BACKEND)
        except FreeMarketError as exc:
            step.status = "failed"
            step.detail = exc.message
            raise _RolloutFailed(f"{step.name}: {exc.message}") from exc
        return [c for c in containers if c.state != "removing"]

    def roll(self, tag: str, replicas: int | None) -> None:
        """Start the new replicas beside the old, wait until healthy, then stop the old ones."""
        step = self.step(f"roll out backend {tag}")
        existing = self.backend_containers(step)
        # Leftovers (a crashed replica) would be restarted by compose and mistaken for new ones.
        self.remove(step, [c.id for c in existing if c.state != "running"])
        old = [c for c in existing if c.state == "running"]
        count = replicas or self.options.replicas or len(old) or 1
        total = str(len(old) + count) if not self.dry_run else "<2N>"
        args = ("up", "-d", "--no-deps", "--no-recreate", "--scale", f"{BACKEND}={total}", BACKEND)
        self.do(step, self.compose_cmd(*args, tag=tag))
        new = self.wait_healthy(step, {c.id for c in existing}, count)
        placeholder = ["<old-backend-ids>"] if self.dry_run else []
        self.remove(step, [c.id for c in old] or placeholder)
        if self.dry_run:
            self.finish(step, "start N new replicas beside the old, wait until healthy, stop old")
        else:
            self.finish(step, f"{len(new)} replica(s) of {tag} healthy; {len(old)} old stopped")

    def wait_healthy(self, step: Step, before: set[str], count: int) -> list[Container]:
        """Wait until `count` new replicas are healthy on HEALTHY_POLLS polls in a row."""
        if self.dry_run:
            self.backend_containers(step)
            step.commands[-1] += (
                f"   # every {self.options.poll_interval:g}s until the new replicas are healthy "
                f"on {HEALTHY_POLLS} polls in a row (at most {self.options.health_timeout:g}s)"
            )
            return []
        deadline = time.monotonic() + self.options.health_timeout
        streak, seen = 0, None
        while True:
            new = [c for c in self.backend_containers(step) if c.id not in before]
            # A new replica that restarted even once crashed: compose's restart policy hides a
            # crash loop behind short spells of "running".
            bad = [c for c in new if c.failed or c.restart_count > 0]
            lives = {c.id: c.life for c in new}
            if not bad and len(new) >= count and all(c.healthy for c in new):
                streak = streak + 1 if lives == seen else 1
                seen = lives
            else:
                streak, seen = 0, None
            if streak >= HEALTHY_POLLS:
                return new
            if bad or time.monotonic() >= deadline:
                why = (
                    f"{bad[0].name} {self.failure(bad[0])}"
                    if bad
                    else f"new replicas not healthy within {self.options.health_timeout:g}s"
                    + "".join(f"; {c.name} is {c.health or c.state}" for c in new[:1])
                )
                self.remove(step, [c.id for c in new])
                step.status = "failed"
                step.detail = why
                raise _RolloutFailed(f"{step.name}: {why}")
            time.sleep(self.options.poll_interval)

    def failure(self, container: Container) -> str:
        """Why a new replica failed, in words, with the engine's own record of the cause."""
        cause = container.health_output if container.health == "unhealthy" else ""
        if not cause:
            # A crash leaves no probe output; its last log line is the exception that ended it.
            try:
                cause = self.compose.engine.last_output(container.id)
            except FreeMarketError as exc:
                cause = f"(its logs could not be read: {exc.message})"
        return _failure(container) + (f": {cause}" if cause else "")

    def remove(self, step: Step, ids: list[str]) -> None:
        if not ids:
            return
        self.do(step, self.compose.docker_command("stop", *ids))
        self.do(step, self.compose.docker_command("rm", *ids))

    def followers(self, tag: str) -> None:
        step = self.step("update worker, bot, nginx, monitoring")
        try:
            followers = (
                ["<every service but backend, db, redis>"]
                if self.dry_run
                else [s for s in self.compose.services() if s not in (BACKEND, *INFRA)]
            )
        except FreeMarketError as exc:
            step.status = "failed"
            raise _RolloutFailed(f"{step.name}: {exc.message}") from exc
        self.do(step, self.compose_cmd("up", "-d", "--no-deps", *followers, tag=tag))
        # A changed freemarket.conf reaches the running nginx without a restart.
        self.do(step, self.compose_cmd("exec", "-T", WEB, "nginx", "-s", "reload"))
        self.finish(step)

    def health_gate(self) -> None:
        step = self.step("health gate")
        url = self.options.base_url.rstrip("/") + "/health/ready"
        step.commands.append(f"GET {url}   # until 200, at most {self.options.gate_timeout:g}s")
        if self.dry_run:
            self.finish(step)
            return
        deadline = time.monotonic() + self.options.gate_timeout
        while True:
            try:
                # The gate goes through nginx with the real certificate: what users get.
                response = httpx.get(url, timeout=5, verify=gate_verification(self.options))
                seen = f"{response.status_code} {first_line(response.text)[:120]}"
                if response.status_code == 200:
                    self.finish(step, seen)
                    return
            except httpx.HTTPError as exc:
                seen = type(exc).__name__
            if time.monotonic() >= deadline:
                step.status = "failed"
                step.detail = f"{url}: {seen}"
                raise _RolloutFailed(f"health gate: {url} answered {seen}")
            time.sleep(self.options.poll_interval)

    def tag_latest(self, tag: str) -> None:
        # `latest` makes a hand-typed `docker compose up -d` (no FREEMARKET_TAG) run this release.
        step = self.step("tag latest")
        image = self.options.image
        self.do(
            step, self.compose.docker_command("image", "tag", f"{image}:{tag}", f"{image}:latest")
        )
        self.finish(step)

    def prune(self, keep: set[str]) -> None:
        step = self.step(f"prune images (keep last {self.options.keep_images})")
        step.commands.append("# engine: list the local tags of each image, newest first")
        removed: list[str] = []
        for image in (self.options.image,):
            if self.dry_run:
                continue
            try:
                tags = [t.tag for t in self.compose.engine.image_tags(image) if t.tag != "latest"]
            except FreeMarketError as exc:
                step.status = "failed"
                raise _RolloutFailed(f"{step.name}: {exc.message}") from exc
            stale = [t for t in tags[self.options.keep_images :] if t not in keep]
            if stale:
                refs = [f"{image}:{t}" for t in stale]
                self.do(step, self.compose.docker_command("image", "rm", *refs))
                removed += refs
        if self.dry_run:
            detail = (
                f"remove tags beyond the newest {self.options.keep_images}, never {sorted(keep)}"
            )
        else:
            detail = f"removed {', '.join(removed)}" if removed else "nothing to remove"
        self.finish(step, detail)


def _failure(container: Container) -> str:
    """Why a new replica failed, in words."""
    if container.restart_count or container.state == "restarting":
        return f"crashed and restarted {container.restart_count} time(s) (state {container.state})"
    if container.health == "unhealthy":
        return "is unhealthy"
    return f"is {container.state}"


def gate_verification(options: DeployOptions) -> ssl.SSLContext:
    """How the health gate verifies TLS (see ops.tls.stack_trust)."""
    return stack_trust(options.certificate)


# --- deploy, rollback -----------------------------------------------------------------------


def _record(options: DeployOptions, state: dict[str, Any], report: DeployReport) -> None:
    report.finished_at = _now()
    state["history"].append(
        {
            "action": report.action,
            "tag": report.tag,
            "previous": report.previous,
            "outcome": report.outcome,
            "reason": report.reason,
            "started_at": report.started_at,
            "finished_at": report.finished_at,
        }
    )
    save_state(options.data_dir, state)


def deploy(
    options: DeployOptions,
    settings: Settings,
    *,
    tag: str | None = None,
    dry_run: bool = False,
    backup: BackupStep | None = None,
) -> DeployReport:
    """Deploy the checkout: lock, check, back up, build, migrate, roll out, gate, prune."""
    tag = tag or git_tag(options.project_dir)
    state = load_state(options.data_dir)
    previous = state.get("current")
    report = DeployReport("deploy", tag, previous)
    runner = _Deployer(options, report, dry_run=dry_run)
    if dry_run:
        _deploy_steps(runner, options, settings, state, backup)
        return report
    with deploy_lock(options.data_dir):
        try:
            _deploy_steps(runner, options, settings, state, backup)
        except _RolloutFailed as exc:
            report.reason = str(exc)
        except FreeMarketError as exc:
            report.outcome = "failed"
            report.reason = exc.message
            _record(options, state, report)
            raise
        _record(options, state, report)
    return report


def _deploy_steps(
    runner: _Deployer,
    options: DeployOptions,
    settings: Settings,
    state: dict[str, Any],
    backup: BackupStep | None,
) -> None:
    report = runner.report
    tag, previous = report.tag, report.previous
    lock = runner.step("lock")
    lock.commands.append(f"flock {options.data_dir / LOCK_FILE}")
    runner.finish(lock)

    check = runner.step("check")
    check.commands.append(str(runner.compose_cmd("config", "-q")))
    if not runner.dry_run:
        check_options = CheckOptions(
            env_file=options.env_file,
            domain=options.domain,
            compose_file=options.compose_file,
            project_dir=options.project_dir,
            docker=options.docker,
        )
        failures = [r for r in preflight(check_options, runner.compose) if r.status == FAIL]
        if failures:
            check.status = "failed"
            check.detail = "; ".join(f"{r.name}: {r.detail}" for r in failures)
            raise DeployError(f"pre-deploy check failed: {check.detail}")
    runner.finish(check, "secrets, TLS, docker, compose file")

    step = runner.step("backup")
    if previous is None:
        step.status = "skipped"
        step.detail = "first deploy: no database to back up yet"
    else:
        step.commands.append(str(runner.compose_cmd(*BACKUP_ARGS, tag=previous)))
        if not runner.dry_run:
            run_backup = backup or backup_in_stack(runner.compose, previous)
            try:
                runner.finish(step, run_backup())
            except FreeMarketError as exc:
                step.status = "failed"
                raise DeployError(f"pre-deploy backup failed: {exc.message}") from exc
        else:
            runner.finish(step)

    try:
        runner.build(tag)
        runner.start_infra()
        before, after = runner.migrate(tag)
    except _RolloutFailed as exc:
        # Nothing serves the new code yet (a failed migration rolls back in its transaction).
        report.outcome = "failed"
        raise _RolloutFailed(f"{exc}; nothing was changed") from exc

    try:
        runner.roll(tag, options.replicas)
    except _RolloutFailed as exc:
        # The old replicas never stopped: only the schema has to go back.
        _undo_schema(runner, tag, before, after)
        report.outcome = "rolled_back" if previous else "failed"
        raise _RolloutFailed(f"{exc}; {_kept(previous)}") from exc

    try:
        runner.followers(tag)
        runner.health_gate()
    except _RolloutFailed as exc:
        if previous is None:
            report.outcome = "failed"
            raise _RolloutFailed(f"{exc}; no previous release to roll back to") from exc
        _undo_schema(runner, tag, before, after)
        _roll_back_code(runner, previous)
        report.outcome = "rolled_back"
        raise _RolloutFailed(f"{exc}; rolled back to {previous}") from exc

    if not runner.dry_run:
        report.outcome = "deployed"
        state["previous"], state["current"] = previous, tag
        if after is not None:
            state["revisions"][tag] = after
    try:
        runner.tag_latest(tag)
        runner.prune({tag} | ({previous} if previous else set()))
    except _RolloutFailed as exc:
        # Housekeeping only: the release is live, so the deploy still counts as done.
        report.reason = f"deployed, but {exc}"


def _kept(previous: str | None) -> str:
    return f"still serving {previous}" if previous else "no previous release was running"


def _undo_schema(runner: _Deployer, tag: str, before: str | None, after: str | None) -> None:
    try:
        runner.downgrade(tag, before, after)
    except _RolloutFailed as exc:
        # Say it, but go on putting the old code back: a wrong schema beats no service.
        runner.report.reason = str(exc)


def _roll_back_code(runner: _Deployer, previous: str) -> None:
    try:
        runner.roll(previous, None)
        runner.followers(previous)
    except _RolloutFailed as exc:
        runner.report.outcome = "failed"
        raise _RolloutFailed(f"rollback to {previous} failed too: {exc}") from exc


def rollback(
    options: DeployOptions,
    *,
    to: str | None = None,
    dry_run: bool = False,
) -> DeployReport:
    """Put a previous release back (default: the one before the current), schema included."""
    state = load_state(options.data_dir)
    current = state.get("current")
    target = to or state.get("previous")
    if not target:
        raise DeployError("no previous release recorded; pass --to TAG")
    if target == current:
        raise DeployError(f"{target} is already the current release")
    report = DeployReport("rollback", target, current)
    runner = _Deployer(options, report, dry_run=dry_run)
    if dry_run:
        _rollback_steps(runner, state, current, target)
        return report
    with deploy_lock(options.data_dir):
        try:
            _rollback_steps(runner, state, current, target)
        except _RolloutFailed as exc:
            report.outcome = "failed"
            report.reason = str(exc)
        _record(options, state, report)
    return report


def _rollback_steps(
    runner: _Deployer, state: dict[str, Any], current: str | None, target: str
) -> None:
    revisions = state["revisions"]
    if current and revisions.get(target) and revisions.get(target) != revisions.get(current):
        runner.downgrade(current, revisions[target], revisions.get(current))
    runner.roll(target, None)
    runner.followers(target)
    runner.health_gate()
    if not runner.dry_run:
        runner.report.outcome = "deployed"
        runner.report.reason = f"rolled back from {current}" if current else ""
        state["previous"], state["current"] = current, target


# --- status, logs, scale, maintenance -------------------------------------------------------


def status(options: DeployOptions) -> dict[str, Any]:
    """Current and previous tags, recent history, and each container with its health."""
    state = load_state(options.data_dir)
    compose = options.compose()
    reason = compose.available()
    containers: list[dict[str, str]] = []
    if reason is None:
        containers = [
            {
                "service": c.service,
                "name": c.name,
                # The container's hostname too: what a replica names itself in X-Served-By.
                "id": c.id,
                "state": c.state,
                "health": c.health or "-",
                "tag": c.tag,
            }
            for c in compose.ps()
        ]
    return {
        "current": state.get("current"),
        "previous": state.get("previous"),
        "history": state["history"][-10:],
        "containers": containers,
        "docker": reason or "ok",
        "maintenance": options.maintenance_flag.exists(),
    }


def logs(options: DeployOptions, service: str, *, follow: bool = False, tail: int = 200) -> int:
    """Show a service's logs on this terminal (following with -f); return the exit code."""
    compose = options.compose()
    args = ["logs", "--tail", str(tail)] + (["-f"] if follow else []) + [service]
    return run_streaming(compose, compose.command(*args))


def run_in_stack(options: DeployOptions, args: list[str]) -> int:
    """Run `freemarket ARGS` in a one-off backend container of the current release.

    The container sits on the stack's network with the stack's settings (the database, Redis,
    the backups volume), which the host does not reach; dependencies are not started, so a
    diagnosis sees the stack as it is. Output goes to this terminal; returns the exit code.
    """
    if not args:
        raise DeployError("say which freemarket command to run, e.g. `backup create`")
    compose = options.compose()
    tag = load_state(options.data_dir).get("current")
    command = compose.command("run", "--rm", "-T", "--no-deps", BACKEND, *args, tag=tag)
    return run_streaming(compose, command)


def parse_scale(specs: list[str]) -> dict[str, int]:
    """Parse SERVICE=N arguments, allowing only the services that can run several copies."""
    wanted: dict[str, int] = {}
    for spec in specs:
        service, sep, count = spec.partition("=")
        if not sep or not count.isdigit():
            raise DeployError(f"expected SERVICE=N, got {spec!r}")
        if service not in SCALABLE:
            allowed = ", ".join(sorted(SCALABLE))
            raise DeployError(f"{service} cannot be scaled (scalable: {allowed})")
        if int(count) < 1:
            raise DeployError(f"{service} needs at least 1 replica")
        wanted[service] = int(count)
    if not wanted:
        raise DeployError("say what to scale, e.g. backend=3")
    return wanted


def scale(options: DeployOptions, specs: list[str], *, dry_run: bool = False) -> list[str]:
    """Run SERVICE=N replicas of the current release; return the commands issued."""
    wanted = parse_scale(specs)
    tag = load_state(options.data_dir).get("current")
    compose = options.compose()
    args = ["up", "-d", "--no-deps", "--no-recreate"]
    for service, count in wanted.items():
        args += ["--scale", f"{service}={count}"]
    # The current tag, so added replicas run the deployed release rather than `latest`.
    command = compose.command(*args, *wanted, tag=tag)
    if not dry_run:
        compose.execute(command)
    return [str(command)]


def maintenance(options: DeployOptions, on: bool, *, dry_run: bool = False) -> list[str]:
    """Switch nginx's maintenance page on or off (a flag file, then an nginx reload)."""
    flag = options.maintenance_flag
    compose = options.compose()
    reload = compose.command("exec", "-T", "nginx", "nginx", "-s", "reload")
    action = f"touch {flag}" if on else f"rm -f {flag}"
    if dry_run:
        return [action, str(reload)]
    if on:
        flag.parent.mkdir(parents=True, exist_ok=True)
        flag.write_text(_now() + "\n", "utf-8")
    else:
        flag.unlink(missing_ok=True)
    compose.execute(reload)
    return [action, str(reload)]
