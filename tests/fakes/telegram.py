"""A fake Telegram Bot API server on loopback: speaks the real HTTP protocol and records calls.

Besides answering the bot's calls, it plays the people: `say` and `press` queue updates that
the bot receives through long-polled `getUpdates` (or that a test posts to the webhook), and
`wait_for` blocks until the bot has made a call matching a condition — event-driven, so tests
wait exactly as long as the bot takes and never sleep.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
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
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "FreeMarket",
    "username": "freemarket_test_bot",
}
# The calls that put a message in front of a person: a new text or photo, or an edited text.
MESSAGE_CALLS = ("sendMessage", "sendPhoto", "editMessageText")
# Long polls are cut short this much so a stopping bot never waits for a whole poll timeout.
MAX_POLL_SECONDS = 2.0


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
    result: Any = None

    @property
    def text(self) -> str:
        """The message text of a send or edit, or a photo's caption ("" for other calls)."""
        return self.params.get("text") or self.params.get("caption", "")

    @property
    def photo(self) -> str | None:
        """The photo a sendPhoto call sent (its address), else None."""
        return self.params.get("photo") if self.method == "sendPhoto" else None

    @property
    def link_preview(self) -> dict[str, Any]:
        """The link preview options of a sent message ({} when none were given)."""
        return json.loads(self.params.get("link_preview_options") or "{}")

    @property
    def chat_id(self) -> int | None:
        """The chat a send or edit went to."""
        chat = self.params.get("chat_id")
        return int(chat) if chat is not None else None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every inline button of the call's keyboard, row by row."""
        markup = json.loads(self.params.get("reply_markup") or "{}")
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    def button(self, text: str) -> dict[str, Any]:
        """The inline button whose label contains `text`; AssertionError when there is none."""
        found = [b for b in self.buttons if text in b["text"]]
        assert found, f"no button {text!r} among {[b['text'] for b in self.buttons]}"
        return found[0]


@dataclass
class Person:
    """A Telegram user talking to the bot."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str = "ru"

    def as_user(self) -> dict[str, Any]:
        """The `User` object Telegram sends."""
        user: dict[str, Any] = {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        if self.username:
            user["username"] = self.username
        return user


@dataclass
class FakeTelegram:
    """State of the fake: the token it accepts, recorded calls, and per-method behaviour."""

    token: str = "123456:TEST-TOKEN"
    calls: list[Call] = field(default_factory=list)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    url: str = ""
    updates: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # --- the Bot API side -----------------------------------------------------------------

    def answer(self, token: str, method: str, params: dict[str, str]) -> Reply:
        """What the real API would say to this call."""
        if method == "getUpdates":
            reply = self._get_updates(token, params)
            with self.changed:
                self.calls.append(Call(token, method, params))
                self.changed.notify_all()
            return reply
        with self.changed:
            call = Call(token, method, params)
            self.calls.append(call)
            reply = self._answer(token, method, params)
            call.result = reply[1].get("result")
            self.changed.notify_all()
            return reply

    def _answer(self, token: str, method: str, params: dict[str, str]) -> Reply:
        if token != self.token:
            return error(401, "Unauthorized")
        if method in self.behaviours:
            return self.behaviours[method](method, params)
        if method == "getMe":
            return ok(BOT_USER)
        if method == "sendMessage":
            return ok(self._new_message(params, text=params.get("text", "")))
        if method == "sendPhoto":
            # Telegram downloads a photo given by address itself; anything else that is not an
            # upload must be the id of a file it already has.
            if not params.get("photo", "").startswith(("https://", "http://")):
                return error(400, "Bad Request: wrong file identifier/HTTP URL specified")
            size = {"file_id": f"photo-{len(self.messages)}", "file_unique_id": "u", "width": 1280}
            return ok(
                self._new_message(
                    params, caption=params.get("caption", ""), photo=[{**size, "height": 960}]
                )
            )
        if method in ("editMessageText", "editMessageReplyMarkup"):
            message = self.messages.get(int(params.get("message_id", 0)))
            if message is None:
                return error(400, "Bad Request: message to edit not found")
            if method == "editMessageText" and "text" not in message:
                return error(400, "Bad Request: there is no text in the message to edit")
            if "text" in params:
                message["text"] = params["text"]
            # An edit without a keyboard removes the old one, as in Telegram.
            markup = json.loads(params.get("reply_markup") or "{}")
            if markup.get("inline_keyboard"):
                message["reply_markup"] = markup
            else:
                message.pop("reply_markup", None)
            return ok(message)
        if method in ("answerCallbackQuery", "setChatMenuButton", "deleteMyCommands"):
            return ok(True)
        if method == "setMyCommands":
            language = params.get("language_code", "")
            self.commands[language] = json.loads(params.get("commands", "[]"))
            return ok(True)
        if method == "getMyCommands":
            return ok(self.commands.get(params.get("language_code", ""), []))
        if method == "setWebhook":
            if not params.get("url", "").startswith("https://"):
                return error(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
            self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
            if params.get("drop_pending_updates") in ("true", "True", "1"):
                self.updates.clear()
            return ok(True)
        if method == "deleteWebhook":
            self.webhook = {}
            return ok(True)
        if method == "getWebhookInfo":
            return ok(
                {
                    "url": self.webhook.get("url", ""),
                    "has_custom_certificate": False,
                    "pending_update_count": len(self.updates),
                }
            )
        return error(404, "Not Found: method not found")

    def _new_message(self, params: dict[str, str], **content: Any) -> dict[str, Any]:
        """A message the bot sent, remembered so that it can be edited or its buttons pressed."""
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "from": BOT_USER,
            **content,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = json.loads(params["reply_markup"])
        self.messages[message["message_id"]] = message
        return message

    def _get_updates(self, token: str, params: dict[str, str]) -> Reply:
        # Long polling: answer at once when updates wait, else hold the request until one
        # arrives or the poll times out, like Telegram does.
        if token != self.token:
            return error(401, "Unauthorized")
        if self.webhook.get("url"):
            return error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), MAX_POLL_SECONDS)
        with self.changed:
            # An offset confirms every update before it: Telegram forgets them.
            self.updates[:] = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            return ok(list(self.updates))

    # --- the people's side ----------------------------------------------------------------

    def _push(self, update: dict[str, Any]) -> dict[str, Any]:
        with self.changed:
            update["update_id"] = next(self._ids)
            self.updates.append(update)
            self.changed.notify_all()
        return update

    def say(self, person: Person, text: str) -> dict[str, Any]:
        """`person` sends the bot a text message (a command gets its bot_command entity)."""
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": person.id, "type": "private", "first_name": person.first_name},
            "from": person.as_user(),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._push({"message": message})

    def press(self, person: Person, call: Call, button: str) -> dict[str, Any]:
        """`person` presses the inline button labelled `button` under the message of `call`."""
        data = call.button(button)["callback_data"]
        message_id = self._message_id_of(call)
        message = dict(self.messages.get(message_id) or {})
        return self._push(
            {
                "callback_query": {
                    "id": str(next(self._ids)),
                    "from": person.as_user(),
                    "chat_instance": f"ci{person.id}",
                    "data": data,
                    "message": message
                    or {
                        "message_id": message_id,
                        "date": int(time.time()),
                        "chat": {"id": person.id, "type": "private"},
                        "text": call.text,
                    },
                }
            }
        )

    @staticmethod
    def _message_id_of(call: Call) -> int:
        if "message_id" in call.params:
            return int(call.params["message_id"])
        assert isinstance(call.result, dict), f"{call.method} sent no message"
        return int(call.result["message_id"])

    # --- waiting and reading ----------------------------------------------------------------

    def wait_for(
        self, condition: Callable[[Call], bool], *, after: int = 0, timeout: float = 10.0
    ) -> Call:
        """The first call from index `after` on that meets `condition`, waiting for it."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for call in self.calls[after:]:
                    if call.token == self.token and condition(call):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.text[:60]) for c in self.calls[after:]]
                    raise AssertionError(f"the bot made no matching call in {timeout}s: {seen}")
                self.changed.wait(left)

    def mark(self) -> int:
        """How many calls were made so far: pass it as `after` to wait for what comes next."""
        with self.changed:
            return len(self.calls)

    def sent_messages(self) -> list[Call]:
        """Every sendMessage call with the right token."""
        with self.changed:
            return [c for c in self.calls if c.method == "sendMessage" and c.token == self.token]

    def messages_to(self, chat_id: int) -> list[Call]:
        """Every message sent (text or photo) or edited in one chat, in order."""
        with self.changed:
            return [c for c in self.calls if c.method in MESSAGE_CALLS and c.chat_id == chat_id]


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
