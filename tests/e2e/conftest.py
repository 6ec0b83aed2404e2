"""The real service and a real headless Chromium for the web UI's end-to-end test."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DIST = REPO_ROOT / "frontend" / "dist"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-frontend.sh"
CHROMIUM = os.environ.get("FREEMARKET_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Settings the service would otherwise inherit from this shell and must not: the test owns them.
FOREIGN_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "TELEGRAM_BOT_TOKEN",
    "DB_PASSWORD",
    "ENVIRONMENT",
    "PUBLIC_URL",
    "WEB_DIST_DIR",
    "DATA_DIR",
    "CORS_ORIGINS",
    "COOKIE_SECURE",
    "SECRET_KEY",
)


def _unavailable(reason: str) -> None:
    """Skip, or fail under CI=true, where a missing tool is a broken pipeline."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires it")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _freemarket() -> str:
    """The `freemarket` command of the running interpreter's environment."""
    beside = Path(sys.executable).with_name("freemarket")
    return str(beside) if beside.exists() else (shutil.which("freemarket") or "freemarket")


@dataclass
class Service:
    """A running `freemarket up` on a private SQLite database."""

    url: str
    env: dict[str, str]
    workdir: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    links: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str) -> str:
        """Run a `freemarket` command against this service's database; its stdout."""
        done = subprocess.run(
            [_freemarket(), *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"freemarket {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def login_link(self, username: str) -> str:
        """A fresh one-time sign-in link for `username`."""
        data = json.loads(self.cli("user", "login-link", username, "--json"))
        assert data["url"].startswith(self.url + "/login?code="), data
        return data["url"]

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """The Debian Chromium binary (Playwright's own browsers cannot be downloaded here)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright Python package is not installed (pip install playwright)")
    return CHROMIUM


@pytest.fixture(scope="module")
def web_dist() -> Path:
    """frontend/dist, built (or found up to date) by scripts/build-frontend.sh."""
    if shutil.which("npm") is None and not (DIST / "index.html").is_file():
        _unavailable("npm is not installed and frontend/dist is not built")
    if shutil.which("npm") is not None:
        done = subprocess.run(
            ["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"web UI build failed:\n{done.stdout}\n{done.stderr}"
    assert (DIST / "index.html").is_file()
    return DIST


@contextmanager
def running_service(
    workdir: Path, web_dist: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Service]:
    """`freemarket up` on a free loopback port and a private SQLite database, until exit."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{workdir / 'freemarket.db'}",
            "DATA_DIR": str(workdir / "data"),
            "WEB_DIST_DIR": str(web_dist),
            "PUBLIC_URL": url,
            "SECRET_KEY": "e2e-test-secret-key-that-is-long-enough-1234",
            "LOG_LEVEL": "warning",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
    )
    svc = Service(url=url, env=env, workdir=workdir, log=workdir / "service.log")
    svc.cli("migrate")
    with svc.log.open("wb") as log:
        svc.proc = subprocess.Popen(
            [_freemarket(), "up", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if svc.proc.poll() is not None:
                pytest.fail(f"freemarket up exited ({svc.proc.returncode}):\n{svc.log_tail()}")
            try:
                with urllib.request.urlopen(url + "/health/ready", timeout=2) as res:
                    if res.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"freemarket up did not become ready:\n{svc.log_tail()}")
            time.sleep(0.2)
        yield svc
    finally:
        svc.proc.terminate()
        try:
            svc.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            svc.proc.kill()
            svc.proc.wait(timeout=5)


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, web_dist: Path, chromium_path: str
) -> Iterator[Service]:
    """`freemarket up` (API + worker) on a free loopback port, with two users."""
    with running_service(tmp_path_factory.mktemp("e2e-service"), web_dist) as svc:
        # Alice reads English, Bob Russian: their saved settings, whatever their browsers say.
        svc.cli(
            "user",
            "create",
            "alice",
            "--city",
            "Москва",
            "--contact",
            "@alice_swaps",
            "--language",
            "en",
        )
        svc.cli(
            "user",
            "create",
            "bob",
            "--city",
            "Москва",
            "--contact",
            "+7 900 000-00-00",
            "--language",
            "ru",
        )
        yield svc


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield browser
        finally:
            browser.close()


AXE = REPO_ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(
    page: object, *, impacts: tuple[str, ...] = ("serious", "critical")
) -> list[str]:
    """axe-core's violations of these impacts on the page as it is now (WCAG 2 A and AA rules)."""
    assert AXE.is_file(), f"{AXE} missing: run scripts/build-frontend.sh (npm ci)"
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):  # type: ignore[attr-defined]
        # Evaluated, not added as a <script>: the page's Content-Security-Policy refuses inline
        # scripts (as it must), and an evaluation from the test driver is not subject to it.
        page.evaluate(AXE.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    found = page.evaluate(  # type: ignore[attr-defined]
        """async () => {
            const result = await axe.run(document, {
                runOnly: {
                    type: 'tag',
                    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
                },
                resultTypes: ['violations'],
            });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
            }));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}"
        for v in found
        if v["impact"] in impacts
    ]
