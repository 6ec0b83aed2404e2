"""Shared ops helpers: external tools (pg_dump, certbot, rclone, nginx) with one-line failures,
and files written atomically."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from freemarket.errors import FreeMarketError


class OperationFailed(FreeMarketError):
    """An operations task could not be carried out (a tool is missing or failed)."""


# Administration tools (nginx, certbot's helpers) live in sbin, which cron and non-login shells
# often leave off PATH; look there too rather than report them missing.
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def which(name: str) -> str | None:
    """The full path of executable `name` on PATH or in the sbin directories, or None."""
    path = os.pathsep.join([os.environ.get("PATH", os.defpath), *SBIN_DIRS])
    return shutil.which(name, path=path)


def require_tool(name: str, package: str | None = None) -> str:
    """The full path of executable `name`, or an error saying how to install it."""
    found = which(name)
    if found is None:
        hint = f" (install the `{package}` package)" if package else ""
        raise OperationFailed(f"`{name}` is not installed or not on PATH{hint}")
    return found


def _summary(stderr: str, stdout: str) -> str:
    # Tools print progress before the error; the lines that say "error" name the cause, and
    # failing that the last line is usually the verdict.
    lines = [line.strip() for line in (stderr or stdout).splitlines() if line.strip()]
    if not lines:
        return "no output"
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    return errors[0] if errors else lines[-1]


def run(
    argv: Sequence[str | Path],
    *,
    what: str,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; on failure raise one line naming `what` and the cause."""
    # `env` extends this process's environment: PATH, HOME and the like must stay.
    full_env = {**os.environ, **env} if env else None
    try:
        result = subprocess.run(
            [str(a) for a in argv],
            env=full_env,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise OperationFailed(f"{what} failed: `{argv[0]}` not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise OperationFailed(f"{what} failed: no answer within {timeout:.0f} s") from exc
    if result.returncode != 0:
        cause = _summary(result.stderr, result.stdout)
        raise OperationFailed(f"{what} failed (exit {result.returncode}): {cause}")
    return result


def run_pipe(
    producer: Sequence[str | Path],
    consumer: Sequence[str | Path],
    *,
    what: str,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run `producer | consumer` without a temporary file; fail if either side fails."""
    full_env = {**os.environ, **env} if env else None
    # The producer's stderr goes to a file: a pipe nobody reads could fill up and stall it.
    with (
        tempfile.TemporaryFile() as source_log,
        subprocess.Popen(
            [str(a) for a in producer], env=full_env, stdout=subprocess.PIPE, stderr=source_log
        ) as source,
    ):
        sink = subprocess.run(
            [str(a) for a in consumer],
            env=full_env,
            stdin=source.stdout,
            capture_output=True,
            check=False,
        )
        # Close our copy of the pipe so the producer sees EPIPE if the consumer quit early.
        assert source.stdout is not None
        source.stdout.close()
        source.wait()
        source_log.seek(0)
        source_err = source_log.read()
    if source.returncode != 0:
        cause = _summary(source_err.decode(errors="replace"), "")
        raise OperationFailed(f"{what} failed (exit {source.returncode}): {cause}")
    if sink.returncode != 0:
        cause = _summary(sink.stderr.decode(errors="replace"), sink.stdout.decode(errors="replace"))
        raise OperationFailed(f"{what} failed (exit {sink.returncode}): {cause}")


def write_atomically(path: Path, data: str | bytes, mode: int = 0o600) -> None:
    """Write a file so readers see the old content or the new, never half; with `mode`."""
    # The temporary file is created with `mode` already, so a key is never readable by others
    # even for a moment.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it; make it exactly `mode`
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
