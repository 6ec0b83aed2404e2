"""A real `freemarket serve --workers 4` on a private PostgreSQL database, and people to race."""

from __future__ import annotations

import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Match, User
from freemarket.db.session import make_engine, unit_of_work
from freemarket.domain import items, sessions, users
from tests.conftest import free_port, private_pg_database
from tests.processes import FREEMARKET, clean_env, running, tail

WORKERS = 4
# Redis database 13 belongs to this suite (rate limits of the served app).
REDIS_URL = "redis://127.0.0.1:6379/13"


@dataclass
class Server:
    """The running service: its address, its database and its log."""

    url: str
    engine: Engine
    log: Path

    def log_tail(self) -> str:
        """The end of the server's log, for failure messages."""
        return tail(self.log)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`freemarket serve --workers 4` on a free port, its own database, Redis rate limits."""
    workdir = tmp_path_factory.mktemp("served")
    with private_pg_database() as db_url:
        port = free_port()
        env = clean_env(
            DATABASE_URL=db_url,
            REDIS_URL=REDIS_URL,
            DATA_DIR=str(workdir / "data"),
            SECRET_KEY="concurrency-suite-secret-key-0123456789abcdef",
            # Hundreds of writes a minute from one loopback address are the point here.
            RATE_LIMIT_WRITE_PER_MINUTE="1000000",
            RATE_LIMIT_SIGNIN_PER_MINUTE="1000000",
            RATE_LIMIT_SEARCH_PER_MINUTE="1000000",
        )
        argv = [FREEMARKET, "serve", "--port", str(port), "--workers", str(WORKERS)]
        log = workdir / "serve.log"
        engine = make_engine(db_url)
        served = Server(url=f"http://127.0.0.1:{port}", engine=engine, log=log)
        try:
            with running(argv, port=port, log=log, env=env, cwd=workdir):
                _wait_ready(served)
                yield served
        finally:
            engine.dispose()


def _wait_ready(served: Server) -> None:
    """Until the workers answer ready (one listening socket is not all of them started)."""
    deadline = time.monotonic() + 90
    answered = 0
    while answered < 3 * WORKERS:
        if time.monotonic() > deadline:
            pytest.fail(f"freemarket serve did not become ready:\n{served.log_tail()}")
        try:
            with urllib.request.urlopen(served.url + "/health/ready", timeout=5) as res:
                answered += res.status == 200
        except OSError:
            time.sleep(0.3)


@dataclass
class Racer:
    """A user with a session token of their own."""

    user: User
    token: str

    @property
    def id(self) -> int:
        """The user's id."""
        return self.user.id

    @property
    def headers(self) -> dict[str, str]:
        """Bearer headers."""
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Market:
    """Arranges people, items and matches straight in the served database."""

    engine: Engine
    url: str

    def people(self, count: int) -> list[Racer]:
        """`count` fresh users, each signed in."""
        tag = uuid.uuid4().hex[:8]
        with unit_of_work(self.engine) as session:
            made = []
            for n in range(count):
                user = users.create_user(session, username=f"r{tag}_{n}")
                issued = sessions.issue_token(session, user=user, ttl=timedelta(hours=1))
                made.append(Racer(user=user, token=issued.token))
        return made

    def gives(self, giver: Racer, receiver: Racer, title: str, *, offer: int | None = None) -> int:
        """A match: `receiver` wants what `giver` offers (a new offer unless `offer` is given)."""
        with unit_of_work(self.engine) as session:
            owner = session.get(User, giver.id)
            wanter = session.get(User, receiver.id)
            assert owner is not None and wanter is not None
            if offer is None:
                offer = _item(session, owner, "offer", title)
            want = _item(session, wanter, "want", title)
            match = Match(want_item_id=want, offer_item_id=offer, score=0.9, computed_by="test")
            session.add(match)
            session.flush()
            return match.id

    def offer_of(self, match_id: int) -> int:
        """The offered item of a match."""
        with unit_of_work(self.engine) as session:
            match = session.get(Match, match_id)
            assert match is not None
            return match.offer_item_id

    def post(self, racer: Racer, path: str, body: Any = None) -> httpx.Response:
        """One request outside any race (its own connection)."""
        with httpx.Client(base_url=self.url, timeout=30) as client:
            return client.post(path, json=body, headers=racer.headers)

    def session(self) -> Session:
        """A session for asserting on the database."""
        return Session(self.engine)


def _item(session: Session, owner: User, kind: str, title: str) -> int:
    made: Item = items.create_item(session, owner=owner, kind=kind, category="other", title=title)
    return made.id


@pytest.fixture
def market(server: Server) -> Market:
    """Arrange data in the served database."""
    return Market(engine=server.engine, url=server.url)


Request = tuple[Racer, str, Any]


def race(server: Server, requests: list[Request]) -> list[httpx.Response]:
    """POST every request at the same instant, each from its own thread and connection."""
    barrier = threading.Barrier(len(requests))
    answers: list[httpx.Response | BaseException | None] = [None] * len(requests)

    def fire(slot: int, racer: Racer, path: str, body: Any) -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                # Open the connection first, so the barrier releases requests, not handshakes.
                client.get("/health")
                barrier.wait(timeout=30)
                answers[slot] = _post_as_a_client_would(client, path, body, racer.headers)
        except BaseException as exc:  # reported below, with the server's log
            answers[slot] = exc

    threads = [
        threading.Thread(target=fire, args=(slot, *request), daemon=True)
        for slot, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    failed = [a for a in answers if not isinstance(a, httpx.Response)]
    assert not failed, f"requests failed: {failed}\n{server.log_tail()}"
    responses = [a for a in answers if isinstance(a, httpx.Response)]
    errors = [f"{r.status_code} {r.text}" for r in responses if r.status_code >= 500]
    assert not errors, f"server errors: {errors}\n{server.log_tail()}"
    return responses


RaceFn = Callable[[list[Request]], list[httpx.Response]]


def _post_as_a_client_would(
    client: httpx.Client, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    """POST, coming back after Retry-After when admission control refused it as overloaded.

    A worker lets MAX_CONCURRENT_REQUESTS (8) requests in at once; when a burst puts more on one
    worker and they wait on each other's row locks, the rest are refused with 503 `overloaded`
    by design (issue 14), which is "try again", not a server error. Any other 5xx still fails.
    """
    for _ in range(5):
        answer = client.post(path, json=body, headers=headers)
        if answer.status_code != 503 or answer.json().get("code") != "overloaded":
            return answer
        time.sleep(float(answer.headers["retry-after"]))
    return answer


@pytest.fixture
def fire(server: Server) -> RaceFn:
    """race() bound to the running server."""
    return lambda requests: race(server, requests)
