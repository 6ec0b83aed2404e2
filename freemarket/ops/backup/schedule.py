"""The daily backup schedule: a cron file, or systemd units to install."""

from __future__ import annotations

import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from freemarket.ops.process import (
    write_atomically,
)

DEFAULT_CRON_FILE = Path("/etc/cron.d/freemarket-backup")
# The seed's schedule: every day at 02:00.
CRON_SCHEDULE = "0 2 * * *"
SYSTEMD_CALENDAR = "*-*-* 02:00:00"


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    """The schedule written (cron) or to install (systemd): file name → content."""

    kind: str
    files: dict[str, str]
    changed: bool
    command: list[str] = field(default_factory=list)


# --- schedule -------------------------------------------------------------------------------


def freemarket_executable() -> str:
    """The `freemarket` script of this installation (beside the running interpreter)."""
    beside = Path(sys.executable).parent / "freemarket"
    if beside.is_file():
        return str(beside)
    return shutil.which("freemarket") or "freemarket"


def schedule_commands(
    *,
    executable: str,
    encrypt: bool = False,
    offsite: str | None = None,
    keep: int | None = None,
    max_age_days: float | None = None,
) -> list[list[str]]:
    """The commands the daily run executes: create and verify, then prune if asked."""
    create = [executable, "backup", "create", "--verify"]
    if encrypt:
        create.append("--encrypt")
    if offsite:
        create += ["--offsite", offsite]
    commands = [create]
    if keep is not None or max_age_days is not None:
        prune = [executable, "backup", "prune"]
        if keep is not None:
            prune += ["--keep", str(keep)]
        if max_age_days is not None:
            prune += ["--max-age", f"{max_age_days:g}"]
        commands.append(prune)
    return commands


def schedule_backup(
    *,
    workdir: Path,
    commands: list[list[str]],
    cron_file: Path = DEFAULT_CRON_FILE,
    systemd: bool = False,
    user: str = "root",
) -> ScheduleResult:
    """Install the daily 02:00 backup as a cron file, or render systemd units; idempotent."""
    workdir = workdir.resolve()
    if systemd:
        service = (
            "[Unit]\nDescription=FreeMarket database backup\n"
            "Wants=network-online.target\nAfter=network-online.target\n\n"
            f"[Service]\nType=oneshot\nUser={user}\nWorkingDirectory={workdir}\n"
            + "".join(f"ExecStart={shlex.join(c)}\n" for c in commands)
        )
        timer = (
            "[Unit]\nDescription=Daily FreeMarket database backup at 02:00\n\n"
            f"[Timer]\nOnCalendar={SYSTEMD_CALENDAR}\nPersistent=true\n\n"
            "[Install]\nWantedBy=timers.target\n"
        )
        return ScheduleResult(
            kind="systemd",
            files={"freemarket-backup.service": service, "freemarket-backup.timer": timer},
            changed=False,
            command=[shlex.join(c) for c in commands],
        )
    # The working directory holds `.env`, which is where the settings come from.
    line = f"cd {shlex.quote(str(workdir))} && " + " && ".join(shlex.join(c) for c in commands)
    content = (
        "# FreeMarket: daily database backup at 02:00.\n"
        "# Written by `freemarket backup schedule`; run it again rather than editing.\n"
        "SHELL=/bin/sh\n"
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        f"{CRON_SCHEDULE} {user} {line}\n"
    )
    current = cron_file.read_text("utf-8") if cron_file.is_file() else None
    changed = current != content
    if changed:
        cron_file.parent.mkdir(parents=True, exist_ok=True)
        # cron ignores files in cron.d that are group- or world-writable.
        write_atomically(cron_file, content, mode=0o644)
    return ScheduleResult(
        kind="cron",
        files={str(cron_file): content},
        changed=changed,
        command=[shlex.join(c) for c in commands],
    )
