"""CPU per hand-off to a thread: Starlette's run_in_threadpool (anyio) vs asyncio's run_in_executor.

    flock /work/bench.lock .venv/bin/python -m benchmarks.thread_hop

Issue 14's profiles charge the hot reads' one remaining hop a large share of the event loop;
this measures the hop alone (a function that returns at once, 32 in flight, rounds alternating
between the two so the machine's drift cancels out).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from starlette.concurrency import run_in_threadpool

HOPS = 20_000
IN_FLIGHT = 32


def _nothing() -> int:
    return 1


async def _drive(hop: Callable[[], Awaitable[int]]) -> None:
    async def connection() -> None:
        for _ in range(HOPS // IN_FLIGHT):
            await hop()

    await asyncio.gather(*(connection() for _ in range(IN_FLIGHT)))


async def _main() -> None:
    pool = ThreadPoolExecutor(max_workers=40)
    loop = asyncio.get_running_loop()
    hops: dict[str, Callable[[], Awaitable[int]]] = {
        "anyio run_in_threadpool": lambda: run_in_threadpool(_nothing),
        "asyncio run_in_executor": lambda: loop.run_in_executor(pool, _nothing),
    }
    for round_ in range(3):
        for name, hop in hops.items():
            started = time.process_time()
            await _drive(hop)
            per_hop = (time.process_time() - started) / HOPS * 1e6
            print(f"round {round_} {name}: {per_hop:.0f} us CPU per hop", flush=True)
    pool.shutdown()


def main() -> None:
    """Print the CPU per hop of both, three alternating rounds."""
    asyncio.run(_main())


if __name__ == "__main__":
    main()
