"""The response: the app's status, headers and body become checked bytes on the wire.

``start_response`` and ``write`` are PEP 3333's; ``Response`` checks what the
application hands back before a byte of it is sent, chooses how the body is
framed (Content-Length, chunked, or the end of the connection) and says
whether the connection may stay open. ``run_app`` calls the app.

Explained in the chapter "The WSGI gateway".
gunicorn: gunicorn/http/wsgi.py (its Response half).
Left out: HTTP/2 and 103 Early Hints.
"""

import io
import os
import re
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate

from unicorn import SERVER_SOFTWARE
from unicorn.http.framing import list_members
from unicorn.http.parser import TOKEN_RE, Request

# "NNN Reason": a reason of latin-1 text without control characters.
STATUS_RE = re.compile(r"([1-9][0-9][0-9]) [^\x00-\x08\x0a-\x1f\x7f\u0100-\U0010ffff]*")
# RFC 9110 §5.5: a field value has no CR, LF, NUL or other control but HTAB;
# PEP 3333: it is latin-1, so no character above U+00FF.
FIELD_VALUE_RE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f\u0100-\U0010ffff]*")
# RFC 9110 §7.6.1: these describe one connection, which the server owns;
# PEP 3333 forbids applications to set them.
HOP_BY_HOP = frozenset(
    ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
     "te", "trailer", "transfer-encoding", "upgrade"]
)


class FileWrapper:
    """``wsgi.file_wrapper``: lets the worker send a file with sendfile(2)."""

    def __init__(self, filelike, block_size: int = 8192) -> None:
        self.filelike = filelike
        self.block_size = block_size
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        while chunk := self.filelike.read(self.block_size):
            yield chunk


_date_cache = (0, "")  # (second, Date text); replaced whole, so threads never see half of it


def http_date() -> str:
    """The Date header value (RFC 9110 §6.6.1), computed at most once a second."""
    global _date_cache
    now = int(time.time())
    second, text = _date_cache
    if second != now:
        text = formatdate(now, usegmt=True)
        _date_cache = (now, text)
    return text


class InvalidResponse(Exception):
    """The application broke PEP 3333; the client is answered with a 500."""


class Response:
    """What the server sends back for one request, checked before it is sent.

    ``send(data)`` writes all of ``data`` to the client. ``sendfile(file,
    offset, count)`` (optional) sends part of a file without copying it
    through Python, and leaves the file's position after the last byte it
    sent, even when it fails, as ``socket.sendfile`` does.
    ``offer_keep_alive`` says whether the worker would keep the connection;
    the ``keep_alive`` property below has the final word.
    """

    def __init__(
        self,
        request: Request,
        send: Callable[[bytes], None],
        sendfile: Callable | None = None,
        offer_keep_alive: bool = True,
    ) -> None:
        self.request = request
        self._send = send
        self._sendfile = sendfile
        self.status: str | None = None
        self.status_code = 0
        self.headers: list[tuple[str, str]] = []
        self.headers_sent = False
        self.sent = 0  # body bytes written, for the access log
        # Two questions about the body, answered again by start_response.
        # body_allowed is about the status alone: 204 and 304 never have a
        # body (RFC 9110 §15.3.5, §15.4.5). has_body also asks the method:
        # a response to HEAD has no body whatever its status (§9.3.2).
        self.body_allowed = True
        self.has_body = request.method != "HEAD"
        # The framing, fixed by choose_framing() just before the head is built:
        self.content_length: int | None = None  # from the app, or known in advance
        self.chunked = False  # HTTP/1.1 with no length known: chunked (RFC 9112 §7.1)
        self.ends_at_close = False  # HTTP/1.0 with no length known: the close ends the body
        # What the keep_alive property weighs, besides the framing:
        self.offer_keep_alive = offer_keep_alive  # the worker's offer
        self.app_said_close = False  # the app's headers held "Connection: close"
        self.body_short = False  # the app sent less than its Content-Length
        self.request_body = None  # the request's Body, set by the worker; asked at the head
        self.body_left_unread = False  # at the head, the request's body could not be skipped

    @property
    def keep_alive(self) -> bool:
        """May the connection carry another request after this response?

        Every rule that can turn keep-alive off, in one list:

        1. the worker does not offer it (the sync worker never does; gthread
           and gevent not with ``keepalive = 0``, nor once they are stopping);
        2. the client asked to close (``Connection: close``, or HTTP/1.0
           without ``Connection: keep-alive``; read in framing.py);
        3. the app sent ``Connection: close``;
        4. the body ends where the connection closes (HTTP/1.0, no length);
        5. the app sent less than the Content-Length it announced;
        6. when the head was built, the app had left more of the request's
           body unread than the worker will skip, or had never read a body
           held back for ``100 Continue`` (``check_request_body``).

        Two checks come after the response, where only the worker can make
        them: the skipping itself (``Body.drain`` in ``Worker.handle_request``;
        rule 6 said it would succeed unless the client stalls or leaves), and a
        gthread worker must still be running when the connection comes back
        from its thread (``take_back_returned``).
        """
        return (
            self.offer_keep_alive
            and self.request.keep_alive
            and not self.app_said_close
            and not self.ends_at_close
            and not self.body_short
            and not self.body_left_unread
        )

    # -- PEP 3333's start_response and write ------------------------------

    def start_response(self, status: str, headers: list, exc_info=None) -> Callable:
        """Record the status and headers; they are sent with the first body bytes."""
        if exc_info is not None:
            try:
                if self.headers_sent:  # too late to change the status: PEP 3333 says re-raise
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response() called again without exc_info")
        self.status_code = check_status(status)
        self.status = status
        self.headers = self._take_headers(headers)
        self.body_allowed = self.status_code not in (204, 304)
        self.has_body = self.body_allowed and self.request.method != "HEAD"
        if self.status_code == 204:
            self.content_length = None  # RFC 9110 §8.6: never a Content-Length on a 204
        return self.write

    def _take_headers(self, headers: list) -> list[tuple[str, str]]:
        """Validate the app's headers, keeping the ones that are the app's to set."""
        kept = []
        self.content_length = None
        for name, value in headers:
            check_header(name, value)
            lower = name.lower()
            if lower == "content-length":
                self.content_length = parse_response_length(value)
                continue  # written by _head, once, whatever the app repeated
            if lower == "connection" and "close" in list_members([value]):
                self.app_said_close = True
            if lower not in HOP_BY_HOP:
                kept.append((name, value))
        return kept

    def write(self, data: bytes) -> None:
        """Send body bytes, after the head if that has not gone yet.

        PEP 3333: the head waits for the first non-empty bytes, so an app
        that yields b"" and then fails can still be answered with a 500.
        """
        if self.status is None:
            raise AssertionError("write() before start_response()")
        if type(data) is not bytes:
            raise TypeError(f"the application must give bytes, not {type(data).__name__}")
        if not data:
            return
        head = b"" if self.headers_sent else self._head()
        body = self._frame(data) if self.has_body else b""
        if head or body:
            self._send(head + body)

    def send_head(self) -> None:
        """Send the status line and headers now, with no body bytes yet."""
        if not self.headers_sent:
            self._send(self._head())

    def _frame(self, data: bytes) -> bytes:
        if self.content_length is not None:  # never send more than announced
            data = data[: self.content_length - self.sent]
        self.sent += len(data)
        if self.chunked and data:
            return b"%x\r\n%b\r\n" % (len(data), data)
        return data

    def choose_framing(self) -> None:
        """Decide how the client will find the end of the body (RFC 9112 §6.3).

        Called once, just before the head is built, because the app may give
        the length (or the whole body) until then. A known length is sent as
        Content-Length. Without one, an HTTP/1.1 client gets chunked; an
        HTTP/1.0 client does not know chunked, so the body ends where the
        connection closes. A body that is never sent (HEAD, 204, 304) needs
        no framing at all.
        """
        if self.content_length is not None or not self.has_body:
            return
        if self.request.version == "HTTP/1.1":
            self.chunked = True
        else:
            self.ends_at_close = True

    def check_request_body(self) -> None:
        """Rule 6 of ``keep_alive``, decided when the head is built, so the head can say it.

        After the response the worker skips what the app left of the request's
        body, and closes the connection when it cannot: too much is left, or
        the client still waits for a ``100 Continue``. RFC 9110 §10.1.1 asks a
        server that answers before reading a body to say which it will do; a
        pooled client told ``Connection: close`` opens a new connection
        instead of sending its next request into one that is closing. Decided
        once: the app may read more after the head, but the head has spoken.
        """
        if self.request_body is not None and not self.request_body.can_skip_rest():
            self.body_left_unread = True

    def _head(self) -> bytes:
        """The status line and headers, once the framing is chosen."""
        self.choose_framing()
        self.check_request_body()
        # RFC 9112 §2.3: answer with the highest 1.x version we speak, whatever
        # 1.x the client used (gunicorn echoes the request's); the framing
        # chosen above still follows what an HTTP/1.0 client understands.
        lines = [f"HTTP/1.1 {self.status}\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in self.headers]
        if self.content_length is not None:
            lines.append(f"Content-Length: {self.content_length}\r\n")
        names = {name.lower() for name, _ in self.headers}
        if "date" not in names:
            lines.append(f"Date: {http_date()}\r\n")
        if "server" not in names:
            lines.append(f"Server: {SERVER_SOFTWARE}\r\n")
        if self.chunked:
            lines.append("Transfer-Encoding: chunked\r\n")
        lines.append(self._connection_header())
        head = "".join(lines).encode("latin-1")  # checked latin-1 already; cannot fail
        self.headers_sent = True
        return head

    def _connection_header(self) -> str:
        """Connection, and the blank line that ends the head (RFC 9112 §9.3)."""
        if not self.keep_alive:
            return "Connection: close\r\n\r\n"
        if self.request.version == "HTTP/1.0":
            return "Connection: keep-alive\r\n\r\n"
        return "\r\n"

    # -- the whole response ---------------------------------------------

    def send_iterable(self, result: Iterable[bytes]) -> None:
        """Send everything the app returned, then end the message."""
        if isinstance(result, FileWrapper) and self._sendfile is not None:
            if self._send_file(result.filelike):
                return
        if self.content_length is None and self.body_allowed:
            self.content_length = self.length_in_hand(result)
        for data in result:
            self.write(data)
            if self.headers_sent and not self.has_body:
                # HEAD, 204, 304: the head is final once sent, and nothing of
                # the body will ever go out, so stop producing it. An endless
                # stream (server-sent events) would otherwise hold us forever.
                # run_app still calls the iterable's close().
                break
        self.finish()

    def length_in_hand(self, result: Iterable[bytes]) -> int | None:
        """The body's length, when the app returned it whole: one bytes object in a list.

        Announcing it instead of chunking lets even a hello-world app keep
        connections alive. A generator is not looked into. For a HEAD, an empty
        object tells nothing: frameworks answer HEAD to a streamed resource
        with no body at all, and "0" would make a 5 MB file look empty.
        """
        if type(result) not in (list, tuple) or len(result) != 1:
            return None
        if not result[0] and not self.has_body:
            return None
        return len(result[0])

    def _send_file(self, file) -> bool:
        """sendfile(2) for a regular file; False if the file cannot be used that way."""
        try:
            fileno = file.fileno()
            offset = file.tell()
            size = os.fstat(fileno).st_size - offset
        except (AttributeError, OSError, io.UnsupportedOperation):
            return False
        if self.content_length is None:
            self.content_length = size
        count = min(size, self.content_length)
        self.send_head()
        if self.has_body and count > 0:
            try:
                self._sendfile(file, offset, count)
            finally:
                # Counted even when the client went away in the middle, so the
                # access log says what was sent: sendfile leaves the file's
                # position after the last byte it sent, as socket.sendfile does.
                self.sent += file.tell() - offset
        self.finish()
        return True

    def finish(self) -> None:
        """End the message: send the head if nothing was written, and the last chunk."""
        if self.status is None:
            raise AssertionError("the application returned without calling start_response()")
        if not self.headers_sent and self.content_length is None and self.has_body:
            # Nothing was written: the whole body is known, and empty. Not so
            # for HEAD: there the app produced no body, which says nothing of
            # the GET's length, so no Content-Length is invented (RFC 9110 §9.3.2).
            self.content_length = 0
        self.send_head()
        if self.chunked:
            self._send(b"0\r\n\r\n")
        if self.content_length is not None and self.sent < self.content_length and self.has_body:
            self.body_short = True  # the app sent less than it announced: framing is broken


def check_status(status: str) -> int:
    """A status is "NNN Reason" (PEP 3333; RFC 9112 §4) with no CR or LF."""
    if type(status) is not str or not STATUS_RE.fullmatch(status):
        raise InvalidResponse(f"invalid status {status!r} from the application")
    if int(status[:3]) < 200:
        # 1xx responses are interim: only the server sends them (100 Continue).
        raise InvalidResponse(f"the application cannot send the interim status {status!r}")
    return int(status[:3])


def check_header(name: str, value: str) -> None:
    """Names are tokens and values have no control characters (RFC 9110 §5)."""
    if type(name) is not str or not TOKEN_RE.fullmatch(name):
        raise InvalidResponse(f"invalid header name {name!r} from the application")
    if type(value) is not str or not FIELD_VALUE_RE.fullmatch(value):
        raise InvalidResponse(f"invalid value for header {name!r} from the application "
                              "(control characters, or not latin-1 as PEP 3333 requires)")


def parse_response_length(value: str) -> int:
    if not (value.isdigit() and value.isascii()):
        raise InvalidResponse(f"invalid Content-Length {value!r} from the application")
    return int(value)


def run_app(app: Callable, environ: dict, response: Response) -> None:
    """Call the application and send its answer; close its iterable whatever happens.

    PEP 3333: the server must call ``close()`` on the iterable, if it has
    one, even when iterating it failed; apps release resources there.
    """
    result = app(environ, response.start_response)
    try:
        response.send_iterable(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def error_response(status: int, reason: str, message: str = "") -> bytes:
    """A short, complete response for a request we refuse; the connection then closes."""
    body = f"{reason}\n{message}\n" if message else f"{reason}\n"
    data = body.encode("latin-1", "replace")
    return (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Content-Type: text/plain; charset=latin-1\r\n"
        f"Content-Length: {len(data)}\r\n"
        f"Date: {http_date()}\r\n"
        f"Server: {SERVER_SOFTWARE}\r\n"
        f"Connection: close\r\n\r\n"
    ).encode("latin-1") + data
