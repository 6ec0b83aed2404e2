"""A thin runner for `docker compose` (and the few plain `docker` commands deploys need)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from freemarket.errors import FreeMarketError

DEFAULT_COMPOSE_FILE = Path("docker-compose.prod.yml")
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
    """One container as `docker compose ps --format json` describes it."""

    id: str
    name: str
    service: str
    state: str
    health: str
    image: str

    @property
    def tag(self) -> str:
        """The image tag (the part after the last colon), or '' when untagged."""
        _, sep, tag = self.image.rpartition(":")
        return tag if sep and "/" not in tag else ""

    @property
    def healthy(self) -> bool:
        """Running and, when the service has a healthcheck, passing it."""
        return self.state == "running" and self.health in ("", "healthy")

    @property
    def failed(self) -> bool:
        """Exited, dead or reported unhealthy: waiting longer will not help."""
        return self.state in ("exited", "dead") or self.health == "unhealthy"


def first_line(text: str) -> str:
    """The first non-empty line of `text` (tools print their error first), or ''."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def parse_json_lines(text: str) -> list[dict[str, Any]]:
    """Parse docker's `--format json`: one object per line (new) or one JSON array (old)."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        return list(json.loads(text))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def container_from_row(row: Mapping[str, Any]) -> Container:
    """A Container from one row of `docker compose ps --format json`."""
    return Container(
        id=str(row.get("ID", "")),
        name=str(row.get("Name", "")),
        service=str(row.get("Service", "")),
        state=str(row.get("State", "")).lower(),
        health=str(row.get("Health", "")).lower(),
        image=str(row.get("Image", "")),
    )


@dataclass(slots=True)
class Compose:
    """Runs `docker compose -f FILE ...` from the project directory."""

    file: Path = DEFAULT_COMPOSE_FILE
    project_dir: Path = Path()
    docker: str = "docker"
    timeout: float = 900.0

    def command(self, *args: str, tag: str | None = None) -> Command:
        """The compose command line for `args`, with the image tag when one is given."""
        env = ((TAG_VARIABLE, tag),) if tag else ()
        return Command(argv=(self.docker, "compose", "-f", str(self.file), *args), env=env)

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

    def ps(self, *services: str) -> list[Container]:
        """The containers of the project (or of `services`), running or not."""
        return [
            container_from_row(row)
            for row in parse_json_lines(self.run("ps", "-a", "--format", "json", *services))
        ]

    def services(self) -> list[str]:
        """The services the compose file defines."""
        return [
            line.strip() for line in self.run("config", "--services").splitlines() if line.strip()
        ]


def run_streaming(compose: Compose, command: Command) -> int:
    """Run `command` with the terminal attached (for `logs -f`); return its exit code."""
    return compose.execute(command, check=False, capture=False).returncode
