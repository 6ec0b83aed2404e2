"""`freemarket deploy` on a real Docker engine, through the real nginx on 127.0.0.1:80/443.

One stack for the whole module, driven step by step as an operator would, with `freemarket`
commands only (docker appears where the operator's hands would act: wiping a volume):
  1. first deploy from nothing on a fresh host directory;
  2. a rolling update to a new commit under a load loop: zero failed requests;
  3. a broken release (one that crashes, one that never becomes healthy): detected, rolled back
     with the cause, zero failed requests;
  4. rollback, scale, maintenance, logs;
  5. backup inside the stack, wipe the database volume, restore; check and doctor.
The steps build on each other, so they run in file order. Timings go to the terminal summary
(conftest.py).
"""

from __future__ import annotations

import json
import re
import shutil
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from tests.ops.engine import guide
from tests.ops.engine.conftest import DOMAIN, PROJECT, Host, timed

# A first build downloads every dependency; later ones reuse the cached layers.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

BASE = f"https://{DOMAIN}"


def trust(host: Host) -> ssl.SSLContext:
    """Verify the stack's own self-signed certificate (never turn verification off)."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=str(host.path / "deploy/certs/fullchain.pem"))
    return context


def client(host: Host) -> httpx.Client:
    """An HTTPS client to nginx on 127.0.0.1 that checks the stack's certificate."""
    return httpx.Client(base_url=BASE, verify=trust(host), timeout=30)


@dataclass
class LoadLoop:
    """GET /api/items through nginx until stopped (bounded in time and count)."""

    host: Host
    max_seconds: float = 900
    max_requests: int = 50_000
    pause: float = 0.02
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """The loop: every answer but a 200 with JSON is a failure, and so is no answer."""
        deadline = time.monotonic() + self.max_seconds
        with client(self.host) as http:
            for _ in range(self.max_requests):
                if self.stop.is_set() or time.monotonic() > deadline:
                    return
                try:
                    response = http.get("/api/items", params={"limit": 5})
                    if response.status_code == 200 and "items" in response.json():
                        self.ok += 1
                    else:
                        self.failures.append(f"{response.status_code} {response.text[:100]}")
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                time.sleep(self.pause)


@contextmanager
def load(host: Host) -> Iterator[LoadLoop]:
    """Run a load loop for the block; it stops when the block ends."""
    loop = LoadLoop(host)
    thread = threading.Thread(target=loop.run, name="load-loop", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.stop.set()
        thread.join(timeout=60)


def status(host: Host) -> dict:
    """`freemarket deploy status --json`."""
    return json.loads(host.run("deploy", "status", "--json").stdout)


def backend_tags(host: Host) -> list[str]:
    """The image tags of the running backend replicas."""
    return sorted(
        c["tag"]
        for c in status(host)["containers"]
        if c["service"] == "backend" and c["state"] == "running"
    )


def in_stack(host: Host, *args: str) -> dict:
    """`freemarket deploy run ARGS --json`: a command inside the stack, its JSON answer."""
    return json.loads(host.run("deploy", "run", *args, "--json").stdout)


def wait_for(what: str, probe, timeout: float = 120, pause: float = 1.0):
    """Poll `probe` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(pause)


RELEASES: dict[str, str] = {}


def follow_first_deploy(host: Host) -> list[str]:
    """Run the README's first-deploy block line by line; return each command's output."""
    outputs = []
    for line in guide.block("first-deploy"):
        if line.startswith("# edit .env"):
            host.edit_env()
        elif line == "cp .env.example .env":
            shutil.copy(host.path / ".env.example", host.path / ".env")
            host.followed.add(("first-deploy", line))
        elif line.startswith("freemarket "):
            outputs.append(host.guide("first-deploy", line).stdout)
        elif not line.startswith("#"):
            pytest.fail(f"the suite does not know how to follow this guide line: {line}")
    assert (host.path / ".env").is_file() and outputs, "the guide block ran nothing"
    return outputs


def test_1_first_deploy_from_nothing(host: Host) -> None:
    """TLS, deploy, health through nginx, the web UI, the worker matching, the bot sending."""
    with timed("1 the guide's first deploy (cp .env, tls selfsigned, deploy)"):
        outputs = follow_first_deploy(host)
    assert "deployed" in outputs[-1], outputs[-1]
    RELEASES["first"] = status(host)["current"]
    with client(host) as http:
        assert http.get("/health/ready").status_code == 200
        page = http.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert '<div id="root">' in page.text

        with timed("1 worker match + bot delivery"):
            anna = in_stack(host, "user", "create", "anna", "--telegram-id", "1001")
            boris = in_stack(host, "user", "create", "boris", "--telegram-id", "1002")
            tokens = {
                name: in_stack(host, "user", "token", name)["token"] for name in ("anna", "boris")
            }
            item = {
                "category": "bicycles",
                "city": "Москва",
                "description": "Горный велосипед Stels, 21 скорость",
            }
            offer = http.post(
                "/api/items/",
                json={"kind": "offer", "title": "Горный велосипед Stels", **item},
                headers={"Authorization": f"Bearer {tokens['anna']}"},
            )
            assert offer.status_code == 201, offer.text
            want = http.post(
                "/api/items/",
                json={"kind": "want", "title": "Горный велосипед Stels", **item},
                headers={"Authorization": f"Bearer {tokens['boris']}"},
            )
            assert want.status_code == 201, want.text

            def matched() -> list:
                answer = http.get(
                    f"/api/matches/{boris['id']}",
                    headers={"Authorization": f"Bearer {tokens['boris']}"},
                )
                assert answer.status_code == 200, answer.text
                return answer.json()

            matches = wait_for("the worker to match the want", matched)
            assert [m["offer_item"]["id"] for m in matches] == [offer.json()["id"]]
            assert matches[0]["offer_item"]["user_id"] == anna["id"]

            def sent() -> list:
                calls = httpx.get(f"http://127.0.0.1:{host.telegram_port}/_calls").json()
                return [c for c in calls if c["method"] == "sendMessage"]

            messages = wait_for("the bot to deliver to the fake Bot API", sent)
            assert {m["params"]["chat_id"] for m in messages} & {"1001", "1002"}


def test_2_rolling_update_loses_no_request(host: Host) -> None:
    """A new commit rolls out under load: no failed request, old image kept, new tag shown."""
    first = RELEASES["first"]
    init = host.path / "freemarket" / "__init__.py"
    init.write_text(init.read_text() + "# release 2\n")
    second = host.commit("release 2")
    with load(host) as loop, timed("2 rolling update under load"):
        done = host.run("deploy")
    assert "deployed" in done.stdout, done.stdout
    assert loop.failures == [], loop.failures[:5]
    assert loop.ok > 50, f"the load loop made only {loop.ok} requests"
    data = status(host)
    assert (data["current"], data["previous"]) == (second, first)
    assert backend_tags(host) == [second]
    shown = host.guide("day-to-day", "freemarket deploy status").stdout
    assert second in shown, shown
    images = host.docker("image", "ls", "--format", "{{.Tag}}", "freemarket").stdout.split()
    assert {first, second} <= set(images)
    RELEASES["second"] = second


def test_3_broken_release_rolls_back_and_keeps_serving(host: Host) -> None:
    """A backend that crashes at start: the deploy waits for real health, rolls back, says why."""
    second = RELEASES["second"]
    app = host.path / "freemarket" / "api" / "app.py"
    app.write_text(app.read_text() + BROKEN_AT_IMPORT)
    broken = host.commit("release 3: broken")
    with load(host) as loop, timed("3 broken release detected and rolled back"):
        done = host.run("deploy", check=False)
    assert done.returncode == 1, done.stdout
    assert "rolled_back" in done.stdout, done.stdout
    assert loop.failures == [], loop.failures[:5]
    assert loop.ok > 20
    data = status(host)
    assert data["current"] == second
    assert data["history"][-1]["tag"] == broken
    assert data["history"][-1]["outcome"] == "rolled_back"
    # Why, in the engine's words: the crash and the exception the container died with.
    reason = data["history"][-1]["reason"]
    assert "crashed and restarted" in reason and "RuntimeError: broken release" in reason, reason
    assert backend_tags(host) == [second]
    app.write_text(app.read_text().replace(BROKEN_AT_IMPORT, ""))


BROKEN_AT_IMPORT = '\nraise RuntimeError("broken release")\n'
# A release that starts and answers but never gets ready: every answer is a 503 (the way an app
# that cannot reach something it needs answers), so its healthcheck never passes. nginx passes
# a GET that gets a 503 on to another replica (proxy_next_upstream), so users never see it.
NEVER_READY = """

_create_app = create_app


def create_app():  # release 4: never ready
    from starlette.responses import PlainTextResponse

    app = _create_app()

    @app.middleware("http")
    async def never_ready(request, call_next):
        return PlainTextResponse("not ready: release 4", status_code=503)

    return app
"""


def test_3b_release_that_never_becomes_healthy_is_rolled_back(host: Host) -> None:
    """A backend that runs but never passes its healthcheck: unhealthy, rolled back, says why."""
    second = RELEASES["second"]
    app = host.path / "freemarket" / "api" / "app.py"
    original = app.read_text()
    assert BROKEN_AT_IMPORT not in original
    app.write_text(original + NEVER_READY)
    never = host.commit("release 4: never ready")
    try:
        with load(host) as loop, timed("3b never-healthy release detected and rolled back"):
            done = host.run("deploy", check=False)
    finally:
        app.write_text(original)
        host.commit("release 5: the never-ready wrapper removed")
    assert done.returncode == 1, done.stdout
    assert "rolled_back" in done.stdout, done.stdout
    assert loop.failures == [], loop.failures[:5]
    assert loop.ok > 20
    data = status(host)
    assert (data["current"], data["history"][-1]["tag"]) == (second, never)
    assert data["history"][-1]["outcome"] == "rolled_back"
    reason = data["history"][-1]["reason"]
    # It never crashed: the healthcheck's own output (curl on /health/ready) is the cause.
    assert "is unhealthy" in reason and "503" in reason and "crashed" not in reason, reason
    assert backend_tags(host) == [second]


def test_4_rollback_scale_maintenance_logs(host: Host) -> None:
    """Roll back to the first release, run three replicas, maintenance page, logs."""
    first, second = RELEASES["first"], RELEASES["second"]
    with timed("4 rollback"):
        done = host.guide("day-to-day", "freemarket deploy rollback")
    assert "deployed" in done.stdout, done.stdout
    data = status(host)
    assert (data["current"], data["previous"]) == (first, second)
    assert backend_tags(host) == [first]

    with timed("4 scale backend=3"):
        host.guide("day-to-day", "freemarket scale backend=3")
        wait_for("three healthy replicas", lambda: len(healthy_backends(host)) == 3)
    replicas = healthy_backends(host)
    with client(host) as http:
        # nginx re-resolves `backend` every 10 s; after that, requests spread over all three.
        time.sleep(11)
        served_by = set()
        for _ in range(60):
            answer = http.get("/api/items", params={"probe": "scaled"})
            assert answer.status_code == 200
            served_by.add(answer.headers["x-served-by"])
    # Each replica names itself (its hostname, the container id `deploy status` shows).
    assert served_by == set(replicas), (served_by, replicas)
    logs = host.guide("day-to-day", "freemarket deploy logs backend").stdout
    for name in replicas.values():
        # Every replica's own lines, prefixed with its name (its startup at least).
        replica = name.removeprefix(f"{PROJECT}-")
        assert any(line.startswith(replica) for line in logs.splitlines()), (replica, logs[-2000:])
    # The requests themselves are in nginx's access log, each naming the replica that answered.
    access = host.guide("day-to-day", "freemarket deploy logs nginx").stdout
    probes = r'"GET /api/items\?probe=scaled HTTP/[\d.]+" 200 .* upstream=([\d.:]+) '
    upstreams = set(re.findall(probes, access))
    assert len(upstreams) == 3, (upstreams, access[-2000:])

    with client(host) as http:
        host.guide("day-to-day", "freemarket maintenance on")
        page = http.get("/")
        assert page.status_code == 503 and "maintenance" in page.text.lower()
        assert http.get("/api/items").status_code == 503
        assert http.get("/health/ready").status_code == 200  # probes still reach the app
        host.guide("day-to-day", "freemarket maintenance off")
        assert http.get("/").status_code == 200
        assert http.get("/api/items").status_code == 200


def healthy_backends(host: Host) -> dict[str, str]:
    """Id -> name of the backend containers that run and pass their healthcheck."""
    return {
        c["id"]: c["name"]
        for c in status(host)["containers"]
        if c["service"] == "backend" and c["state"] == "running" and c["health"] == "healthy"
    }


def test_5_backup_wipe_restore_then_check_and_doctor(host: Host) -> None:
    """Disaster: the database volume is gone; restore brings back every row."""
    with timed("5 backup inside the stack"):
        manifest = in_stack(host, "backup", "create")["manifest"]
    assert manifest["row_counts"]["users"] >= 2
    with timed("5 wipe the database volume"):
        host.compose("stop", "db")
        host.compose("rm", "-f", "db")
        host.docker("volume", "rm", f"{PROJECT}_postgres_data")
        host.compose("up", "-d", "--wait", "db")
    listed = json.loads(host.guide("restore", "freemarket deploy run backup list", "--json").stdout)
    assert manifest["id"] in [b["id"] for b in listed]
    with timed("5 restore onto the empty database"):
        restore = host.guide(
            "restore", "freemarket deploy run backup restore", "--json", BACKUP_ID=manifest["id"]
        )
        restored = json.loads(restore.stdout)
    assert restored["row_counts"] == manifest["row_counts"]
    with client(host) as http:
        wait_for("the backend to serve again", lambda: http.get("/api/items").status_code == 200)
    # The replicas' healthchecks failed while the database was gone; they pass again within
    # a few intervals, and only then is the stack healthy for `check`.
    replicas = len(backend_tags(host))
    wait_for("healthy replicas again", lambda: len(healthy_backends(host)) == replicas, 180)

    # The host reaches the fake Bot API on its published port, not by the stack's name.
    check_args = ("--telegram-api-url", f"http://127.0.0.1:{host.telegram_port}", "--json")
    with timed("5 check and doctor, healthy"):
        check = host.guide("day-to-day", "freemarket check", *check_args, check=False)
        doctor = host.guide("day-to-day", "freemarket deploy run doctor", "--json", check=False)
    results = {r["name"]: r for r in json.loads(check.stdout)["results"]}
    assert check.returncode == 0, check.stdout
    assert results["services"]["status"] == "pass"
    assert results["database migrations"]["status"] == "pass"
    inside = {r["name"]: r for r in json.loads(doctor.stdout)["results"]}
    assert inside["backend: database connection"]["status"] == "pass", doctor.stdout

    host.compose("stop", "db")
    try:
        with timed("5 check and doctor, database stopped"):
            check = host.guide("day-to-day", "freemarket check", *check_args, check=False)
            doctor = host.guide("day-to-day", "freemarket deploy run doctor", "--json", check=False)
        assert check.returncode == 1
        results = {r["name"]: r for r in json.loads(check.stdout)["results"]}
        assert results["services"]["status"] == "fail"
        assert "db not running" in results["services"]["detail"]
        assert results["database migrations"]["status"] == "fail"
        assert doctor.returncode == 1
        inside = {r["name"]: r for r in json.loads(doctor.stdout)["results"]}
        connection = inside["backend: database connection"]
        assert connection["status"] == "fail"
        assert "db" in connection["detail"], connection
    finally:
        host.compose("up", "-d", "--wait", "db")


def test_6_the_suite_ran_every_line_of_the_operator_guide(host: Host) -> None:
    """The README's guide blocks were followed word for word: no command line left out."""
    guide_lines = {
        (name, line)
        for name in ("first-deploy", "day-to-day", "restore")
        for line in guide.commands(name)
    }
    assert guide_lines - host.followed == set()
