"""The web process's own threads: the pool that answers receiving requests (hub.asgi.ThreadPool)
and the ingest writer's connection check (webhooks.store)."""

import asyncio
import threading

import pytest

from hub.asgi import ThreadPool


def _gather(pool, calls):
    async def main():
        return await asyncio.gather(*(pool.run(fn, *args) for fn, args in calls),
                                    return_exceptions=True)  # fmt: skip

    return asyncio.run(main())


def test_the_pool_answers_each_call_on_its_threads_with_its_own_result():
    pool = ThreadPool(2, "test-pool")
    gate = threading.Barrier(2, timeout=10)

    def both_threads_busy_at_once(n):
        gate.wait()  # two calls run at the same time, on two threads
        return n, threading.current_thread().name

    answers = _gather(pool, [(both_threads_busy_at_once, (n,)) for n in range(2)])
    assert [n for n, _ in answers] == [0, 1]
    assert {name for _, name in answers} == {"test-pool_0", "test-pool_1"}

    many = _gather(pool, [(lambda n: n * n, (n,)) for n in range(50)])  # more calls than threads
    assert many == [n * n for n in range(50)]


def test_an_exception_reaches_its_caller_and_the_thread_serves_the_next_call():
    pool = ThreadPool(1, "test-pool-errors")

    def refuse(n):
        raise ValueError(f"no {n}")

    first, second = _gather(pool, [(refuse, (1,)), (str.upper, ("next",))])
    assert isinstance(first, ValueError) and str(first) == "no 1"
    assert second == "NEXT"
    with pytest.raises(ValueError, match="no 2"):
        asyncio.run(pool.run(refuse, 2))
