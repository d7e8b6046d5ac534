"""The request body as a file: the ``wsgi.input`` object of PEP 3333.

It pulls body events from the parser, and bytes from the connection only when
the parser needs them, so it can never read past the end of this message:
the next pipelined request stays in the parser's buffer. A chunked body is
the exception: ``SpooledBody`` reads it whole before the app runs, so that the
app sees a CONTENT_LENGTH.

Explained in the chapter "The WSGI gateway".
gunicorn: gunicorn/http/body.py.
Left out: ``seek`` and ``tell``; PEP 3333 does not ask for them.
"""

import tempfile
from collections.abc import Callable, Iterator

from unicorn.http import errors
from unicorn.http.parser import NEED_DATA, Data, RequestParser

# How much an unread body may hold for the connection to be kept alive: the
# rest of a bigger body costs more to skip than a new connection does.
DRAIN_LIMIT = 64 * 1024
# How much of a chunked body SpooledBody keeps in memory before it moves it
# to a temporary file (waitress's inbuf_overflow is the same 512 KiB).
SPOOL_IN_MEMORY = 512 * 1024


class Body:
    """A read-only file over one request's body.

    ``receive()`` returns the next bytes from the peer (``b""`` when it
    closed) and may raise on a timeout. ``before_first_read`` runs once, when
    the application first asks for the body: the worker uses it to send
    ``100 Continue`` only to clients whose body the app actually wants.
    """

    def __init__(
        self,
        parser: RequestParser,
        receive: Callable[[], bytes],
        before_first_read: Callable[[], None] | None = None,
        length: int | None = None,
    ) -> None:
        self._parser = parser
        self._receive = receive
        self._before_first_read = before_first_read
        self.length = length  # the request's Content-Length; None if not known ahead
        self._received = 0  # body bytes taken from the parser so far
        self._buffer = bytearray()
        self.complete = False  # True once the parser reported the end of the message
        self.trailers: list[tuple[str, str]] = []

    def _fill(self) -> bool:
        """Append the next piece of body to the buffer; False at the end."""
        if self.complete:
            return False
        if self._before_first_read is not None:
            callback, self._before_first_read = self._before_first_read, None
            callback()
        while True:
            event = self._parser.next_event()
            if event is NEED_DATA:
                self._parser.feed(self._receive())
            elif isinstance(event, Data):
                self._buffer += event.data
                self._received += len(event.data)
                return True
            else:  # EndOfMessage: the parser moves on to the next request
                self.trailers = event.trailers
                self.complete = True
                return False

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def read(self, size: int | None = -1) -> bytes:
        """Read ``size`` bytes, fewer only at the end; everything when size < 0."""
        if size is None or size < 0:
            while self._fill():
                pass
            return self._take(len(self._buffer))
        while len(self._buffer) < size and self._fill():
            pass
        return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        """Read up to and including the next b"\\n", or ``size`` bytes."""
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end != -1:
                limit = end + 1
                break
            if size is not None and 0 <= size <= len(self._buffer):
                limit = size
                break
            start = len(self._buffer)
            if not self._fill():
                limit = len(self._buffer)
                break
        if size is not None and size >= 0:
            limit = min(limit, size)
        return self._take(limit)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines, total = [], 0
        for line in self:
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def can_skip_rest(self, limit: int = DRAIN_LIMIT) -> bool:
        """Would ``drain(limit)`` skip what is left of the body, without giving up?

        Asked before the response's head is sent, so that the head can say
        whether the connection stays open (Response.keep_alive, rule 6). Only
        a body of known length can be measured before it is read.
        """
        if self.complete:
            return True
        if self._before_first_read is not None or self.length is None:
            return False  # 100 Continue was never sent (see drain), or the size is unknown
        return self.length - self._received + len(self._buffer) <= limit

    def close(self) -> None:
        """Nothing to free: what is unread stays on the connection, for drain() or a close."""

    def drain(self, limit: int = DRAIN_LIMIT) -> bool:
        """Skip what the app left unread; True if the message ended within ``limit``.

        Unread body bytes must never be parsed as the next request, so when
        this returns False the connection has to be closed instead.
        """
        if self._before_first_read is not None:
            # We never sent 100 Continue. The client may be waiting, or may be
            # sending the body anyway (RFC 9110 §10.1.1): we cannot tell, so the
            # connection must not be reused.
            return self.complete
        skipped = len(self._buffer)
        self._buffer.clear()
        while skipped <= limit and self._fill():
            skipped += len(self._buffer)
            self._buffer.clear()
        return self.complete


class SpooledBody:
    """A chunked body, de-chunked and stored whole before the app runs.

    PEP 3333 lets an app read ``wsgi.input`` to its end when the server says
    ``wsgi.input_terminated``, but most frameworks never ask: Django and
    Falcon read exactly CONTENT_LENGTH bytes, so a chunked body, which has
    none, reaches them empty; Bottle sees ``HTTP_TRANSFER_ENCODING: chunked``
    and tries to de-chunk a body that already is. Like waitress, unicorn reads
    the body first, so the environ can say how long it is, as for any other.

    The cost: the body sits in memory up to ``SPOOL_IN_MEMORY``, then in a
    temporary file; the app starts only once the last chunk has arrived; an
    app cannot stream a chunked upload as it comes in; and ``100 Continue``
    is sent before the app runs, so it can no longer refuse such an upload
    before receiving it. ``limit`` bounds the size (0: no bound); a longer
    body is refused with 413.
    """

    def __init__(self, body: Body, limit: int, in_memory: int = SPOOL_IN_MEMORY) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=in_memory)
        self.length = 0
        while data := body.read(65536):
            self.length += len(data)
            if limit and self.length > limit:
                self.file.close()
                raise errors.ContentTooLarge(f"the chunked body is longer than {limit} bytes")
            self.file.write(data)
        self.file.seek(0)
        self.trailers = body.trailers

    def read(self, size: int | None = -1) -> bytes:
        return self.file.read(size)

    def readline(self, size: int | None = -1) -> bytes:
        return self.file.readline(size)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return self.file.readlines(hint)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.file)

    def can_skip_rest(self, limit: int = DRAIN_LIMIT) -> bool:
        return True  # nothing of it is left on the connection

    def drain(self, limit: int = DRAIN_LIMIT) -> bool:
        return True

    def close(self) -> None:
        """Free the memory or the temporary file; the worker calls it after the response."""
        self.file.close()
