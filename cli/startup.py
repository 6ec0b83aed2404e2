"""The cyclic garbage collector is paused while a command starts: imports make no garbage.

Importing SQLAlchemy, pydantic and our models creates hundreds of thousands of objects that
live as long as the process; the collector scanned them ~180 times during `freemarket user
list` (13 % of its CPU, issue 12) and freed nothing. `pause()` turns it off before the command
imports anything; `resume()` freezes what start-up made (later collections skip it) and turns
it back on. Resumed when the command opens its database (`cli.common.engine`), in a forked
child, and after RESUME_AFTER_SECONDS at the latest, so a long-running command that never opens
one (bot, deploy, ...) collects as usual.
"""

from __future__ import annotations

import gc
import os
import threading

RESUME_AFTER_SECONDS = 1.0


def pause() -> None:
    """Stop cyclic collection until `resume()` (or RESUME_AFTER_SECONDS, or a fork)."""
    gc.disable()
    timer = threading.Timer(RESUME_AFTER_SECONDS, resume)
    timer.daemon = True  # never keeps a finished command waiting
    timer.start()
    os.register_at_fork(after_in_child=resume)


def resume() -> None:
    """Freeze the objects start-up made and collect again (idempotent)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
