"""First run: a busy port is one line with the fix; the sign-in link follows the chosen port."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.cli.conftest import FREEMARKET, Run, cli_env
from tests.conftest import REPO_ROOT, free_port


def test_a_busy_port_is_one_line_naming_the_fix(run: Run) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for command in (["up"], ["serve"]):
            result = run(*command, "--port", str(port))
            assert result.code == 1
            lines = result.err.strip().splitlines()
            assert len(lines) == 1, result.err
            assert f"port {port} on 127.0.0.1 is already in use" in lines[0]
            assert f"make run PORT={port + 1}" in lines[0]
            assert "Traceback" not in result.err + result.out


def test_up_prints_a_sign_in_link_on_its_own_port(tmp_path: Path) -> None:
    db = tmp_path / "fm.db"
    env = cli_env(f"sqlite:///{db}", tmp_path)
    env.pop("PUBLIC_URL", None)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    subprocess.run([FREEMARKET, "migrate"], env=env, cwd=workdir, check=True, capture_output=True)
    subprocess.run(
        [FREEMARKET, "user", "create", "demo_anna"],
        env=env,
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    port = free_port()
    proc = subprocess.Popen(
        [FREEMARKET, "up", "--port", str(port), "--sign-in-link", "demo_anna"],
        env=env,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        link = None
        deadline = time.monotonic() + 60
        while link is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"freemarket up exited ({proc.wait()})")
            if line.startswith("Sign in as demo_anna: "):
                link = line.split(": ", 1)[1].strip()
        assert link is not None and link.startswith(f"http://127.0.0.1:{port}/login?code=")
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the service did not answer"
                time.sleep(0.2)
        # The link signs in for real.
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/auth/code",
            data=json.dumps({"code": link.rsplit("code=", 1)[1]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.load(answer)["user"]["username"] == "demo_anna"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_make_run_passes_the_port_and_public_url_through() -> None:
    planned = subprocess.run(
        ["make", "-n", "run", "PORT=8001"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert planned.returncode == 0, planned.stderr
    assert 'PUBLIC_URL="${PUBLIC_URL:-http://127.0.0.1:8001}"' in planned.stdout
    assert "up --host 127.0.0.1 --port 8001 --sign-in-link demo_anna" in planned.stdout


def _make_run_on_a_busy_port(
    tmp_path: Path, *, sigint: signal.Handlers
) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run `make run` on a port that is taken, with SIGINT set to `sigint` in make's process."""
    env = cli_env(f"sqlite:///{tmp_path / 'fm.db'}", tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            # -o: the venv and the web UI count as up to date (the suite runs inside them).
            [
                *("make", "--no-print-directory", "-o", "install", "-o", "frontend", "run"),
                f"PORT={port}",
                f"BIN={Path(FREEMARKET).parent}",
            ],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            # The test decides how make starts: the runner's own SIGINT disposition varies
            # (a background job without job control inherits it ignored).
            preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),
        )
    return port, done


def test_make_run_on_a_busy_port_says_only_the_one_line(tmp_path: Path) -> None:
    port, done = _make_run_on_a_busy_port(tmp_path, sigint=signal.SIG_DFL)
    # make dies of the interrupt it sent itself (a shell shows that as exit status 130).
    assert done.returncode == -signal.SIGINT
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in lines[0]
    assert f"make run PORT={port + 1}" in lines[0]
    assert "make: ***" not in done.stdout + done.stderr


def test_make_run_on_a_busy_port_fails_even_when_make_ignores_sigint(tmp_path: Path) -> None:
    port, done = _make_run_on_a_busy_port(tmp_path, sigint=signal.SIG_IGN)
    assert done.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
