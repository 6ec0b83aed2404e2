"""`docker compose` for actions, the Docker SDK for questions about the engine.

Actions (build, up, run, logs) go through the compose CLI, which owns the project model.
Questions (which containers a service has, whether they are healthy, which image tags exist)
go to the Engine API through the Docker SDK: its answers are the engine's own records
(health status, restart count, start time) rather than CLI output to parse, which is how a
crash-looping container once passed for healthy (`compose ps` showed it `running` with an
empty Health between two restarts).

`deploy logs` stays on `docker compose logs`: it is streamed straight to the terminal (no
output is parsed), interleaves every replica with its name and, with -f, picks up replicas a
rollout starts later; the SDK gives one stream per container, which would have to be merged and
re-listed by hand to do the same.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from freemarket.errors import FreeMarketError

DEFAULT_COMPOSE_FILE = Path("docker-compose.prod.yml")
# Labels compose puts on every container it creates.
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
# Compose interpolates it into `image:`; a deploy passes the tag through the environment so
# the compose file stays the same for every release.
TAG_VARIABLE = "FREEMARKET_TAG"


class ComposeError(FreeMarketError):
    """A docker or docker compose command failed; the message carries its first error line."""


@dataclass(frozen=True, slots=True)
class Command:
    """One command line: arguments plus the environment variables it adds."""

    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        prefix = " ".join(f"{key}={shlex.quote(value)}" for key, value in self.env)
        return f"{prefix} {shlex.join(self.argv)}".strip()


@dataclass(frozen=True, slots=True)
class Container:
    """One container as the engine records it."""

    id: str
    name: str
    service: str
    state: str
    health: str
    image: str
    # Whether the image or the compose file gives it a healthcheck: only then is "healthy"
    # required, and only then does an empty health mean "not known yet".
    has_healthcheck: bool = False
    restart_count: int = 0
    started_at: str = ""
    # The output of the last healthcheck probe (curl's error, say): why it is not healthy.
    health_output: str = ""

    @property
    def tag(self) -> str:
        """The image tag (the part after the last colon), or '' when untagged."""
        _, sep, tag = self.image.rpartition(":")
        return tag if sep and "/" not in tag else ""

    @property
    def healthy(self) -> bool:
        """Running and, when it has a healthcheck, reported healthy by it (not merely empty)."""
        if self.state != "running":
            return False
        return self.health == "healthy" if self.has_healthcheck else True

    @property
    def failed(self) -> bool:
        """Exited, dead, restarting or reported unhealthy: waiting longer will not help."""
        return self.state in ("exited", "dead", "restarting") or self.health == "unhealthy"

    @property
    def life(self) -> tuple[str, int]:
        """What changes when the container restarts (compared across health polls)."""
        return self.started_at, self.restart_count


def container_from_inspect(data: Mapping[str, Any]) -> Container:
    """A Container from the engine's inspect document (GET /containers/{id}/json)."""
    state = data.get("State") or {}
    config = data.get("Config") or {}
    test = (config.get("Healthcheck") or {}).get("Test") or []
    probes = (state.get("Health") or {}).get("Log") or []
    return Container(
        id=str(data.get("Id", ""))[:12],
        name=str(data.get("Name", "")).lstrip("/"),
        service=str((config.get("Labels") or {}).get(SERVICE_LABEL, "")),
        state=str(state.get("Status", "")).lower(),
        health=str((state.get("Health") or {}).get("Status", "")).lower(),
        image=str(config.get("Image", "")),
        has_healthcheck=bool(test) and test[0] != "NONE",
        restart_count=int(data.get("RestartCount") or 0),
        started_at=str(state.get("StartedAt", "")),
        health_output=last_line(str(probes[-1].get("Output") or "")) if probes else "",
    )


@dataclass(frozen=True, slots=True)
class ImageTag:
    """One local image tag and when its image was created (ISO 8601)."""

    repository: str
    tag: str
    created: str


class ContainerEngine(Protocol):
    """The questions a deploy asks the Docker engine."""

    def containers(self, project: str, services: Sequence[str]) -> list[Container]:
        """The containers of a compose project (of `services`, or all), running or not."""
        ...

    def image_tags(self, repository: str) -> list[ImageTag]:
        """The local tags of `repository`."""
        ...

    def last_output(self, container_id: str) -> str:
        """The last line a container wrote (a crash's exception, say), or ''."""
        ...


class DockerEngine:
    """The Engine API through the Docker SDK (DOCKER_HOST, or the local socket)."""

    def __init__(self) -> None:
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The SDK client, connected on first use (importing the SDK costs ~0.1 s)."""
        if self._client is None:
            import docker
            from docker.errors import DockerException

            try:
                self._client = docker.from_env()
            except DockerException as exc:
                reason = first_line(str(exc))
                raise ComposeError(f"cannot reach the Docker engine: {reason}") from exc
        return self._client

    def _call(self, what: str, call: Any) -> Any:
        from docker.errors import DockerException
        from requests.exceptions import RequestException

        try:
            return call()
        except (DockerException, RequestException) as exc:
            raise ComposeError(f"{what} failed: {first_line(str(exc))}") from exc

    def containers(self, project: str, services: Sequence[str]) -> list[Container]:
        """The project's containers, inspected (health, restarts), oldest first."""
        labels = [f"{PROJECT_LABEL}={project}"]
        found = self._call(
            "listing containers",
            lambda: self.client.containers.list(all=True, filters={"label": labels}),
        )
        wanted = set(services)
        rows = [container_from_inspect(c.attrs) for c in found]
        rows = [c for c in rows if not wanted or c.service in wanted]
        created = {c.attrs["Id"][:12]: c.attrs.get("Created", "") for c in found}
        return sorted(rows, key=lambda c: (created.get(c.id, ""), c.name))

    def image_tags(self, repository: str) -> list[ImageTag]:
        """The local tags of `repository`, newest image first."""
        images = self._call("listing images", lambda: self.client.images.list(name=repository))
        tags = []
        for image in images:
            for ref in image.tags:
                repo, _, tag = ref.rpartition(":")
                if repo == repository:
                    tags.append(ImageTag(repo, tag, str(image.attrs.get("Created", ""))))
        return sorted(tags, key=lambda t: t.created, reverse=True)

    def last_output(self, container_id: str) -> str:
        """The last non-empty line of the container's output (stdout and stderr)."""
        container = self._call(
            "reading a container", lambda: self.client.containers.get(container_id)
        )
        output = self._call("reading its logs", lambda: container.logs(tail=TAIL_FOR_REASON))
        return last_line(output.decode("utf-8", errors="replace"))


# Lines of a failed container's log searched for its last words (a traceback ends in them).
TAIL_FOR_REASON = 20


def last_line(text: str) -> str:
    """The last non-empty line of `text` (a traceback ends with the exception), or ''."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def first_line(text: str) -> str:
    """The first non-empty line of `text` (tools print their error first), or ''."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


@dataclass
class Compose:
    """Runs `docker compose -f FILE ...` from the project directory.

    `file` may list several files separated by ":" (as docker's own COMPOSE_FILE does): the
    production file first, then overrides such as a site's port bindings.
    """

    file: Path = DEFAULT_COMPOSE_FILE
    project_dir: Path = Path()
    docker: str = "docker"
    timeout: float = 900.0
    engine: ContainerEngine = field(default_factory=DockerEngine)

    @property
    def files(self) -> list[Path]:
        """The compose files, in the order compose merges them."""
        return [Path(part) for part in str(self.file).split(os.pathsep) if part]

    def command(self, *args: str, tag: str | None = None) -> Command:
        """The compose command line for `args`, with the image tag when one is given."""
        env = ((TAG_VARIABLE, tag),) if tag else ()
        files = [arg for path in self.files for arg in ("-f", str(path))]
        return Command(argv=(self.docker, "compose", *files, *args), env=env)

    @property
    def file_args(self) -> str:
        """The `-f FILE` arguments, as an operator would type them."""
        return " ".join(f"-f {path}" for path in self.files)

    def missing_files(self) -> list[Path]:
        """The compose files that do not exist (relative to the project directory)."""
        return [path for path in self.files if not (self.project_dir / path).is_file()]

    def docker_command(self, *args: str) -> Command:
        """A plain `docker ...` command line (images, containers by id)."""
        return Command(argv=(self.docker, *args))

    def available(self) -> str | None:
        """None when docker and its compose plugin answer, else why not."""
        if shutil.which(self.docker) is None:
            return f"{self.docker} is not installed"
        result = self.execute(Command(argv=(self.docker, "compose", "version")), check=False)
        if result.returncode != 0:
            return f"docker compose is not available: {first_line(result.stderr) or 'no plugin'}"
        return None

    def execute(
        self, command: Command, *, check: bool = True, capture: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run `command`; with check, a non-zero exit raises ComposeError with its error line."""
        env = {**os.environ, **dict(command.env)}
        try:
            result = subprocess.run(
                command.argv,
                cwd=self.project_dir,
                env=env,
                text=True,
                capture_output=capture,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise ComposeError(f"{command.argv[0]} is not installed") from exc
        except subprocess.TimeoutExpired as exc:
            raise ComposeError(f"timed out after {self.timeout:.0f}s: {command}") from exc
        if check and result.returncode != 0:
            reason = first_line(result.stderr or "") or first_line(result.stdout or "")
            raise ComposeError(f"`{command}` failed (exit {result.returncode}): {reason}")
        return result

    def run(self, *args: str, tag: str | None = None, check: bool = True) -> str:
        """Run a compose subcommand and return its standard output."""
        return self.execute(self.command(*args, tag=tag), check=check).stdout

    @cached_property
    def _config(self) -> dict[str, Any]:
        # The project as compose resolves it (name, services), once per runner.
        out = self.run("config", "--format", "json")
        try:
            return dict(json.loads(out))
        except ValueError as exc:
            reason = f"`docker compose config` printed no JSON: {first_line(out)}"
            raise ComposeError(reason) from exc

    @property
    def project(self) -> str:
        """The compose project name (the file's `name:`, or COMPOSE_PROJECT_NAME)."""
        return os.environ.get("COMPOSE_PROJECT_NAME") or str(self._config.get("name", ""))

    def ps(self, *services: str) -> list[Container]:
        """The containers of the project (or of `services`), running or not, oldest first."""
        return self.engine.containers(self.project, services)

    def services(self) -> list[str]:
        """The services the compose files define."""
        return sorted(self._config.get("services") or {})


def run_streaming(compose: Compose, command: Command) -> int:
    """Run `command` with the terminal attached (for `logs -f`); return its exit code."""
    return compose.execute(command, check=False, capture=False).returncode
