"""The web server's worker class: ``gunicorn hub.asgi:application -k hub.server.UvicornWorker``.

uvicorn's own worker (``uvicorn_worker.UvicornWorker``) with one change to its HTTP protocol
(httptools): writes to a connection made during one step of the event loop leave together, in
one ``send``, at the end of that step (``CoalescingTransport``). uvicorn writes a response's
status line and headers, then its body, as two writes: two system calls and two TCP segments
per answer, each costing as much CPU as the rest of a small response's sending, and the client
reads twice. Nothing waits on a timer: the held bytes go out before the loop polls for I/O
again, and before the connection closes.
"""

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker as _UvicornWorker

FLUSH_AT = 64 * 1024
"""Bytes held at most: past them a write goes out at once, so a large response streams and
meets the transport's flow control (pause_writing) as it would without holding."""


class CoalescingTransport:
    """A transport whose ``write`` calls of one loop step go out as one write of the real
    transport (at the end of the step, before ``close``/``write_eof``, or once ``FLUSH_AT``
    bytes are held); every other attribute is the real transport's."""

    __slots__ = ("_transport", "_loop", "_held", "_size")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport, self._loop, self._held, self._size = transport, loop, None, 0

    def write(self, data) -> None:
        data = bytes(data)
        if self._held is None:
            self._held, self._size = [data], len(data)
            self._loop.call_soon(self.flush)
        else:
            self._held.append(data)
            self._size += len(data)
        if self._size >= FLUSH_AT:
            self.flush()

    def writelines(self, chunks) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def get_write_buffer_size(self) -> int:
        return (self._size if self._held else 0) + self._transport.get_write_buffer_size()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name):
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a ``CoalescingTransport``."""

    def connection_made(self, transport) -> None:
        super().connection_made(CoalescingTransport(transport, self.loop))


class UvicornWorker(_UvicornWorker):
    CONFIG_KWARGS = {**_UvicornWorker.CONFIG_KWARGS, "http": CoalescingHttpToolsProtocol}
