"""Real processes under test (`freemarket serve`, nginx): started, awaited, always stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

FREEMARKET = str(Path(sys.executable).with_name("freemarket"))
# Settings a served app would otherwise inherit from the shell running the tests.
FOREIGN_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "ENVIRONMENT",
    "CORS_ORIGINS",
    "FORWARDED_ALLOW_IPS",
    "SECRET_KEY",
    "TELEGRAM_BOT_TOKEN",
    "DATA_DIR",
)


def clean_env(**values: str) -> dict[str, str]:
    """This environment without FreeMarket settings, plus `values`."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
    env.update(LOG_LEVEL="warning", PYTHONUNBUFFERED="1")
    env.update(values)
    return env


def tail(log: Path, lines: int = 40) -> str:
    """The end of a log file, for failure messages."""
    text = log.read_text(errors="replace") if log.exists() else "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@contextmanager
def running(
    argv: list[str], *, port: int, log: Path, env: dict[str, str], cwd: Path, timeout: float = 90
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `argv`, wait until it listens on 127.0.0.1:`port`, stop it on exit."""
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{argv[0]} exited ({proc.returncode}):\n{tail(log)}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"{argv[0]} did not listen on {port}:\n{tail(log)}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
