"""The web process's own machinery: the pool of threads that answers receiving requests
(hub.asgi.ThreadPool) and the worker's transport that sends each answer in one write
(hub.server.CoalescingTransport)."""

import asyncio
import threading

import pytest

from hub.asgi import ThreadPool


def _run(coroutine, timeout: float = 10.0):
    """asyncio.run in a thread of its own (the browser tests leave a loop running in this one),
    failing after ``timeout`` seconds instead of hanging."""
    outcome = {}

    def run():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"no answer within {timeout} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _gather(pool, calls):
    async def main():
        return await asyncio.gather(*(pool.run(fn, *args) for fn, args in calls),
                                    return_exceptions=True)  # fmt: skip

    return _run(main())


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
        _run(pool.run(refuse, 2))


def test_a_call_whose_loop_has_closed_leaves_its_thread_serving():
    pool = ThreadPool(1, "test-pool-closed")
    release = threading.Event()

    async def leave_early():
        asyncio.ensure_future(pool.run(release.wait, 10))
        await asyncio.sleep(0.05)  # the call runs on the pool's one thread

    _run(leave_early())  # asyncio.run cancels the call's task and closes its loop
    release.set()  # the call ends: its answer has no loop to go to
    assert _run(pool.run(str.upper, "next")) == "NEXT"


class _Socket(asyncio.Transport):
    """What the kernel would be sent: each write of the real transport, in order."""

    def __init__(self):
        super().__init__()
        self.writes, self.closed = [], False

    def write(self, data):
        self.writes.append(bytes(data))

    def is_closing(self):
        return self.closed

    def close(self):
        self.closed = True

    def get_write_buffer_size(self):
        return 0


def test_a_response_head_and_body_written_in_one_loop_step_leave_in_one_write():
    from hub.server import CoalescingTransport

    async def main():
        socket = _Socket()
        transport = CoalescingTransport(socket, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n")  # uvicorn: head
        transport.write(b"{}")  # then body
        assert socket.writes == [] and transport.get_write_buffer_size() == 46
        await asyncio.sleep(0)  # the step ends
        assert socket.writes == [b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}"]

        transport.write(b"last answer")
        transport.close()  # what is held goes out before the connection closes
        assert socket.writes[1:] == [b"last answer"] and socket.closed
        transport.write(b"after close")
        await asyncio.sleep(0)
        assert socket.writes[2:] == []  # dropped, as a closing transport drops it
        assert transport.is_closing()  # everything else is the real transport's

        socket, big = _Socket(), b"x" * 70_000  # past FLUSH_AT: out at once, flow control works
        transport = CoalescingTransport(socket, asyncio.get_running_loop())
        transport.write(b"head")
        transport.write(big)
        assert socket.writes == [b"head" + big]
        await asyncio.sleep(0)
        assert socket.writes == [b"head" + big]  # nothing more to send at the end of the step

    _run(main())
