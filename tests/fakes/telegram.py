"""A fake Telegram Bot API server on loopback: speaks the real HTTP protocol and records calls."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, urlparse

from tests.fakes.http import loopback_server

Reply = tuple[int, dict[str, Any]]
Answer = tuple[int, str, bytes]
Behaviour = Callable[[str, dict[str, str]], Reply]


def ok(result: Any) -> Reply:
    """A successful Bot API answer."""
    return 200, {"ok": True, "result": result}


def error(code: int, description: str, **parameters: Any) -> Reply:
    """A Bot API error answer, as Telegram sends them."""
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


@dataclass
class Call:
    """One request the fake received."""

    token: str
    method: str
    params: dict[str, str]


@dataclass
class FakeTelegram:
    """State of the fake: the token it accepts, recorded calls, and per-method behaviour."""

    token: str = "123456:TEST-TOKEN"
    calls: list[Call] = field(default_factory=list)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    url: str = ""

    def answer(self, token: str, method: str, params: dict[str, str]) -> Reply:
        """What the real API would say to this call."""
        self.calls.append(Call(token, method, params))
        if token != self.token:
            return error(401, "Unauthorized")
        if method in self.behaviours:
            return self.behaviours[method](method, params)
        if method == "getMe":
            return ok(
                {
                    "id": 123456,
                    "is_bot": True,
                    "first_name": "FreeMarket",
                    "username": "freemarket_test_bot",
                }
            )
        if method == "sendMessage":
            return ok(
                {
                    "message_id": len(self.calls),
                    "date": 1_700_000_000,
                    "chat": {"id": int(params["chat_id"]), "type": "private"},
                    "text": params.get("text", ""),
                }
            )
        if method == "getWebhookInfo":
            return ok({"url": "", "has_custom_certificate": False, "pending_update_count": 0})
        return error(404, "Not Found: method not found")

    def sent_messages(self) -> list[Call]:
        """Every sendMessage call with the right token."""
        return [c for c in self.calls if c.method == "sendMessage" and c.token == self.token]


def _parse_body(content_type: str, body: bytes) -> dict[str, str]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(body).items()}
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        return {
            part.get_param("name", header="content-disposition"): part.get_content()
            for part in message.iter_parts()
        }
    return dict(parse_qsl(body.decode()))


@contextmanager
def fake_telegram(token: str = "123456:TEST-TOKEN") -> Iterator[FakeTelegram]:
    """Run the fake on a free loopback port for the duration of the block."""
    state = FakeTelegram(token=token)

    def respond(_method: str, target: str, content_type: str, body: bytes) -> Answer:
        url = urlparse(target)
        params = _parse_body(content_type, body)
        params.update(dict(parse_qsl(url.query)))
        path = url.path.strip("/").split("/")
        if len(path) != 2 or not path[0].startswith("bot"):
            status, payload = error(404, "Not Found")
        else:
            status, payload = state.answer(path[0][3:], path[1], params)
        return status, "application/json", json.dumps(payload).encode()

    with loopback_server(respond) as url:
        state.url = url
        yield state
