"""Bytes in, requests out: an HTTP/1.1 request parser with no sockets in it.

The caller feeds bytes as they arrive, split anywhere, and asks for the next
event: a request head, a piece of body, the end of a message, or "need more
bytes". Keeping sockets out makes the parser easy to test and lets the sync
and threaded workers share it.

Explained in the chapter "Parsing HTTP/1.1".
gunicorn: gunicorn/http/parser.py, unreader.py and the first half of message.py.
Left out, on purpose: obs-fold, lower-case methods and transfer codings
other than chunked are refused (400, as gunicorn does) rather than accepted;
HTTP/1.2 to HTTP/1.9 are read as HTTP/1.1, other major versions get 505.
"""

import enum
import re
from dataclasses import dataclass, field

from unicorn.http import errors
from unicorn.http.framing import is_valid_host, read_framing_fields

# RFC 9110 §5.6.2: token = 1*tchar.
TOKEN = r"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
TOKEN_RE = re.compile(TOKEN)
# Methods are case-sensitive tokens (RFC 9110 §9.1); like gunicorn we refuse
# lower-case letters, which no registered method has and which proxies may
# upper-case differently from us.
METHOD_RE = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Z]+")
# RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT, case-sensitive.
VERSION_RE = re.compile(r"HTTP/([0-9])\.([0-9])")
# RFC 9112 §3.2: the target is printable ASCII; anything else is percent-encoded.
TARGET_RE = re.compile(r"[\x21-\x7e]+")
# RFC 9110 §4.2.4: userinfo ("user:pw@") in a target is refused, so no "@".
ABSOLUTE_FORM_RE = re.compile(r"([A-Za-z][-+.A-Za-z0-9]*)://([^/?#@]+)([/?#].*)?")
AUTHORITY_FORM_RE = re.compile(r"[^/?#@]+:[0-9]+")
# RFC 9110 §5.5: no control characters but HTAB anywhere in a head, and
# (RFC 9112 §2.2) CR and LF only together, as the CRLF that ends a line.
# One translate() marks them: every byte maps to 1, except the controls a
# head may not hold (all but HTAB, CR and LF), which map to 0.
CONTROL_MARKS = bytes(
    0 if (byte < 0x20 and byte not in b"\t\r\n") or byte == 0x7f else 1 for byte in range(256)
)
# RFC 9110 §5.6.4 quoted-string, and RFC 9112 §7.1.1 chunk extensions.
QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
CHUNK_EXT = rf"(?:[ \t]*;[ \t]*{TOKEN}(?:[ \t]*=[ \t]*(?:{TOKEN}|{QUOTED}))?)*"
# RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF. The grammar allows
# any number of hex digits; we allow 1 to 16 (16 hex digits are 64 bits, more
# than any body we could hold), so no client can make us build a huge number.
# "{{1,16}}" is the regex quantifier {1,16}, its braces doubled because this
# is an f-string.
CHUNK_SIZE_RE = re.compile(rf"([0-9A-Fa-f]{{1,16}}){CHUNK_EXT}")
MAX_CHUNK_LINE = 4096
CR = ord("\r")
LINE_BREAK_RE = re.compile(rb"[\r\n]")
# A line ending that is not CRLF: a bare LF, or a CR followed by anything else.
BARE_LINE_END_RE = re.compile(rb"(?<!\r)\n|\r[^\n]")
# RFC 9110 §6.5.1: fields that frame, route or authenticate the message
# cannot be sent after the body, where a proxy may not look at them.
FORBIDDEN_TRAILERS = frozenset(
    ["CONTENT-LENGTH", "TRANSFER-ENCODING", "HOST", "TRAILER", "TE", "AUTHORIZATION",
     "CONTENT-TYPE", "CONTENT-ENCODING", "CONNECTION", "EXPECT"]
)


# Field names already checked, as sent, each mapped to what check_name returned.
# For speed: clients repeat the same few dozen names, and one dict lookup costs
# less than the regex match and upper() of check_name; it was the parser's
# largest cost (bench/README.md). The cap stops a client sending made-up names
# from growing it without end; past it, names are simply checked every time.
CHECKED_NAMES: dict[str, str] = {}
MAX_CHECKED_NAMES = 1000

# The largest limits unicorn allows; a setting of 0 asks for these.
MAX_REQUEST_LINE = 8190
MAX_FIELDS = 32768
MAX_FIELD_SIZE = 65536


@dataclass(frozen=True)
class Limits:
    """How much a client may send before the head is refused (gunicorn's names)."""

    request_line: int = 4094  # longest request line, else 414
    fields: int = 100  # most header fields, else 431
    field_size: int = 8190  # longest header line, else 431

    @classmethod
    def from_settings(cls, request_line: int, fields: int, field_size: int) -> "Limits":
        """The limit_request_* settings, where 0 means "the largest allowed"."""
        return cls(request_line or MAX_REQUEST_LINE, fields or MAX_FIELDS,
                   field_size or MAX_FIELD_SIZE)

    def head_size(self) -> int:
        """The most bytes a complete head can take, with the limits above.

        Nothing needs to check it: each line is checked as it arrives, so a
        head grows past it only by breaking one of the three limits. The
        "+ 2"s are the CRLFs after the request line and of the empty line
        that ends the head; a field line's size already counts its CRLF.
        """
        return self.request_line + 2 + self.fields * self.field_size + 2


@dataclass
class Request:
    """A parsed request head. Strings are latin-1, as PEP 3333 asks."""

    method: str
    target: str  # exactly as sent: the environ's RAW_URI
    path: str  # still percent-encoded; the gateway decodes it
    query: str
    version: str  # "HTTP/1.0" or "HTTP/1.1" (also for HTTP/1.2 to 1.9: see parse_version)
    headers: list[tuple[str, str]]  # (UPPER-CASE NAME, value), in order
    # The rest is what framing.read_framing_fields found in the headers:
    host: str | None = None  # from the target when absolute-form, else Host
    keep_alive: bool = True  # the client's wish; Response.keep_alive decides
    expect_continue: bool = False  # send 100 Continue before reading the body
    content_length: int | None = None  # None with chunked; 0 when no body
    chunked: bool = False


@dataclass
class Data:
    """A piece of the request body, already de-chunked."""

    data: bytes


@dataclass
class EndOfMessage:
    """The body is complete; ``trailers`` holds fields sent after a chunked body."""

    trailers: list[tuple[str, str]] = field(default_factory=list)


class Sentinel(enum.Enum):
    """The two events that carry no data. (Not OS signals: nothing here is asynchronous.)"""

    NEED_DATA = "feed me more bytes, then ask again"
    CLOSED = "the peer closed the connection between requests"


NEED_DATA = Sentinel.NEED_DATA
CLOSED = Sentinel.CLOSED
Event = Request | Data | EndOfMessage | Sentinel


class RequestParser:
    """Turns the bytes of one connection into a stream of events.

    The parser is a state machine whose state is the method that reads the
    next piece: ``self._step`` is ``_read_head``, ``_read_length_body``,
    ``_read_chunk_size``, ``_read_chunk_data``, ``_read_chunk_end`` or
    ``_read_trailers``. Each returns an event, or NEED_DATA when the buffer
    does not yet hold enough. After EndOfMessage it starts on the next
    request, so pipelined bytes already in the buffer are parsed in order.
    """

    def __init__(self, limits: Limits = Limits()) -> None:
        self.limits = limits
        self.buffer = bytearray()
        self.peer_closed = False
        self._step = self._read_head
        # Bookmarks in the head or trailers still arriving (see _check_lines):
        self._scanned = 0  # bytes already searched for the blank line and checked
        self._line_start = 0  # where the line still arriving begins
        self._lines = 0  # the finished lines before it
        self.error: errors.HTTPError | None = None  # once set, the connection is finished
        self._remaining = 0  # body bytes still owed by the current length or chunk

    def feed(self, data: bytes) -> None:
        """Add bytes received from the peer; ``b""`` means the peer closed."""
        if data:
            self.buffer += data
        else:
            self.peer_closed = True

    def next_event(self) -> Event:
        """Return the next event; on a broken request raise an HTTPError.

        An error sticks: every later call raises it again, so no byte after a
        refused request can ever be parsed as another request (smuggling).
        """
        if self.error is not None:
            raise self.error
        try:
            return self._step()
        except errors.HTTPError as error:
            self.error = error
            raise

    @property
    def between_requests(self) -> bool:
        """True when no part of a request has been received yet (keep-alive idle)."""
        # "==", not "is": each read of self._read_head makes a new bound-method
        # object, so "is" would always be False. "==" compares the function
        # and the instance, which is what we mean by "the step is _read_head".
        return self._step == self._read_head and not self.buffer

    def _need_data(self) -> Sentinel:
        if self.peer_closed:
            raise errors.IncompleteRequest("connection closed in the middle of a request")
        return NEED_DATA

    # -- the head ---------------------------------------------------------

    def _read_head(self) -> Event:
        buffer = self.buffer
        if not buffer:  # the common case between keep-alive requests
            return CLOSED if self.peer_closed else NEED_DATA
        # RFC 9112 §2.2: ignore empty lines received before a request line.
        while buffer[:2] == b"\r\n":
            del buffer[:2]
        end = self._find_blank_line()
        if end == -1:
            if not buffer and self.peer_closed:
                return CLOSED
            self._check_lines(len(buffer), in_head=True)
            return self._need_data()
        request_line, *field_lines = self._take_section(end, in_head=True)
        method, target, version = parse_request_line(request_line)
        path, query, target_host = split_target(method, target)
        headers = parse_fields(field_lines)
        fields = read_framing_fields(version, target_host, headers)
        # Positional, in the order Request declares them, for speed: CPython 3.11
        # packs keyword arguments to a class into a dict and unpacks them again,
        # which cost 0.3 µs a request (bench/parser_bench.py).
        request = Request(
            method, target, path, query, version, headers,
            fields.host, fields.keep_alive, fields.expect_continue, fields.content_length,
            fields.chunked,
        )
        self._start_body(request)
        return request

    def _find_blank_line(self) -> int:
        """Where the CRLF CRLF ending a head or trailers starts, or -1.

        The search resumes where the last one stopped, so a client sending a
        byte at a time costs linear time, not quadratic.
        """
        # Back 3 bytes: a CRLF CRLF may have begun in the bytes already searched.
        return self.buffer.find(b"\r\n\r\n", max(self._scanned - 3, 0))

    def _take_section(self, end: int, in_head: bool) -> list[str]:
        """Take the complete head or trailer section whose CRLF CRLF starts at
        ``end`` out of the buffer, and return its lines.

        The section gets the answer it would get arriving a byte at a time:
        _check_lines's checks come first (each line's limits, then its
        ending, line after line), then split_lines's (control characters).
        """
        lines_end = end + 2  # the last line's CRLF is checked with it
        # For speed, the usual case: in a section too short to break a limit,
        # a bad line ending is the only fault _check_lines could find, and
        # split_lines refuses those too, with the same error, in all the lines
        # at once as it splits them; walking the lines, a search and a method
        # call each, makes a typical parse four times slower. Every line ends
        # with an LF, so there are no more lines than LFs.
        most_lines = self.buffer.count(b"\n", self._line_start, lines_end)
        if not self._surely_within_limits(lines_end - self._line_start, most_lines, in_head):
            self._check_lines(lines_end, in_head)
        section = bytes(self.buffer[:end])
        del self.buffer[: end + 4]  # the section and the CRLF CRLF after it
        self._start_section()
        return split_lines(section)

    def _start_section(self) -> None:
        """Forget the bookmarks of the head or trailers just taken from the buffer."""
        self._scanned = self._line_start = self._lines = 0

    # -- every line measured as it arrives ----------------------------------

    def _check_lines(self, end: int, in_head: bool) -> None:
        """Check the lines of a head or trailer section received so far, up to ``end``.

        Each line is checked as soon as its bytes arrive, finished or not, so
        an endless line is refused at its own limit, not once the whole
        head's budget is buffered. ``_line_start`` is where the line still
        arriving begins; ``_lines`` counts the finished lines before it.
        """
        while (crlf := self.buffer.find(b"\r\n", self._resume(), end)) != -1:
            self._check_line(crlf, in_head)
            self._line_start, self._scanned = crlf + 2, crlf + 2
            self._lines += 1
        if self._line_has_begun(end):
            self._check_line(end, in_head)
        self._scanned = end

    def _surely_within_limits(self, length: int, line_count: int, in_head: bool) -> bool:
        """Will ``line_count`` lines of ``length`` bytes in all, CRLFs included,
        after the ``_lines`` already checked, pass _check_limits?

        No line is longer than the section it is in, so a section that would
        fit in one request line, or one field line, cannot break either limit;
        a longer one may still be fine, but only measuring each line tells.
        A ``line_count`` above the true one can only turn a yes into a no.
        """
        limits = self.limits
        is_request_line_first = in_head and self._lines == 0
        if is_request_line_first and length - 2 > limits.request_line:
            return False
        fields_after = self._lines + line_count - (1 if in_head else 0)
        return length <= limits.field_size and fields_after <= limits.fields

    def _line_has_begun(self, end: int) -> bool:
        """Has the line still arriving a byte yet? A lone CR may be the CRLF that
        ends the section, so it does not start a line."""
        arriving = end - self._line_start
        return arriving > 1 or (arriving == 1 and self.buffer[self._line_start] != CR)

    def _resume(self) -> int:
        """Where to search the line still arriving: its bytes up to the last
        check (bar a CR that may start a CRLF) were searched already."""
        return max(self._line_start, self._scanned - 1)

    def _check_line(self, stop: int, in_head: bool) -> None:
        """One line, ``_line_start`` to ``stop``: its place, its length, its line ending.

        The request line may be limit_request_line bytes long (414 past it);
        a field line limit_request_field_size bytes with its CRLF, and a head
        or trailer section limit_request_fields field lines (431 past them).
        """
        self._check_limits(self._length_to(stop), in_head)
        # RFC 9112 §2.2: CR and LF only together; the CRLF after stop is included.
        if BARE_LINE_END_RE.search(self.buffer, max(self._resume() - 1, 0), stop + 2):
            raise errors.InvalidHeader("line ending is not CRLF (RFC 9112 §2.2)")

    def _check_limits(self, length: int, in_head: bool) -> None:
        """The limits on the line ``_lines`` numbers, ``length`` bytes long without its CRLF."""
        fields_before = self._lines - 1 if in_head else self._lines  # the request line is none
        if in_head and self._lines == 0:
            if length > self.limits.request_line:
                raise errors.RequestLineTooLong(f"request line of {length} bytes or more")
        elif fields_before >= self.limits.fields:
            raise errors.HeadersTooLarge(f"more than {self.limits.fields} header fields")
        elif length + 2 > self.limits.field_size:  # its CRLF counts
            raise errors.HeadersTooLarge(f"header line longer than {self.limits.field_size} bytes")

    def _length_to(self, stop: int) -> int:
        """The line's length so far: to its first CR or LF, else to ``stop``.

        Measured to the first line break, a line has the same length however
        its bytes were split, even one with a bare LF in it.
        """
        line_break = LINE_BREAK_RE.search(self.buffer, self._resume(), stop)
        return (line_break.start() if line_break else stop) - self._line_start

    # -- the body ---------------------------------------------------------

    def _start_body(self, request: Request) -> None:
        if request.chunked:
            self._step = self._read_chunk_size
        else:
            self._remaining = request.content_length
            self._step = self._read_length_body

    def _read_length_body(self) -> Event:
        if self._remaining == 0:
            return self._end_message([])
        if not self.buffer:
            return self._need_data()
        return self._take_body_bytes()

    def _take_body_bytes(self) -> Data:
        size = min(self._remaining, len(self.buffer))
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        self._remaining -= size
        return Data(data)

    def _read_chunk_size(self) -> Event:
        line = self._take_line(MAX_CHUNK_LINE, "chunk size line")
        if line is None:
            return self._need_data()
        match = CHUNK_SIZE_RE.fullmatch(line)
        if match is None:
            raise errors.InvalidChunk(f"invalid chunk size line {line[:40]!r}")
        self._remaining = int(match.group(1), 16)
        if self._remaining == 0:
            self._step = self._read_trailers
            return self._read_trailers()
        self._step = self._read_chunk_data
        return self._read_chunk_data()

    def _read_chunk_data(self) -> Event:
        if not self.buffer:
            return self._need_data()
        data = self._take_body_bytes()
        if self._remaining == 0:
            self._step = self._read_chunk_end
        return data

    def _read_chunk_end(self) -> Event:
        """Chunk data must be followed by exactly CRLF (RFC 9112 §7.1)."""
        if len(self.buffer) < 2:
            if self.buffer[:1] not in (b"", b"\r"):
                raise errors.InvalidChunk("chunk data not followed by CRLF")
            return self._need_data()
        if self.buffer[:2] != b"\r\n":
            raise errors.InvalidChunk("chunk data not followed by CRLF")
        del self.buffer[:2]
        self._step = self._read_chunk_size
        return self._read_chunk_size()

    def _read_trailers(self) -> Event:
        """Trailer fields follow header rules, minus the fields of §6.5.1."""
        if self.buffer[:2] == b"\r\n":
            del self.buffer[:2]
            return self._end_message([])
        end = self._find_blank_line()
        if end == -1:
            self._check_lines(len(self.buffer), in_head=False)
            return self._need_data()
        trailers = parse_fields(self._take_section(end, in_head=False))
        for name, _ in trailers:
            if name in FORBIDDEN_TRAILERS:
                raise errors.InvalidHeader(f"{name} is not allowed in a trailer")
        return self._end_message(trailers)

    def _take_line(self, limit: int, what: str) -> str | None:
        """Remove and return one CRLF-terminated line, or None if it is not all here."""
        end = self.buffer.find(b"\r\n")
        if end > limit or (end == -1 and len(self.buffer) > limit):
            raise errors.InvalidChunk(f"{what} too long")
        if end == -1:
            if b"\n" in self.buffer:
                raise errors.InvalidChunk("line ending is not CRLF")
            return None
        line = self.buffer[:end].decode("latin-1")
        del self.buffer[: end + 2]  # the line and its CRLF
        return line

    def _end_message(self, trailers: list[tuple[str, str]]) -> EndOfMessage:
        self._step = self._read_head
        return EndOfMessage(trailers)


def parse_request_line(line: str) -> tuple[str, str, str]:
    """request-line = method SP request-target SP HTTP-version (RFC 9112 §3).

    Returns (method, target, version), each checked.
    """
    parts = line.split(" ")
    if len(parts) != 3:
        raise errors.InvalidRequestLine(f"invalid request line {line[:80]!r}")
    method, target, version = parts
    if not METHOD_RE.fullmatch(method):
        raise errors.InvalidMethod(f"invalid method {method[:20]!r}")
    version = parse_version(version)
    if not TARGET_RE.fullmatch(target):
        raise errors.InvalidTarget("request target is not printable ASCII")
    return method, target, version


def parse_version(text: str) -> str:
    """The version to read the request as: "HTTP/1.0" or "HTTP/1.1".

    A minor version above 1 is read as 1.1, the highest unicorn implements
    (RFC 9110 §2.5: a recipient SHOULD treat it as the highest minor version
    it is conformant to). Another major version is refused with 505 (RFC 9110
    §15.6.6): its messages need not look like HTTP/1's at all.
    """
    if text == "HTTP/1.1":  # nearly every request; for speed, no regex needed
        return text
    match = VERSION_RE.fullmatch(text)
    if match is None:
        raise errors.InvalidVersion(f"invalid version {text[:20]!r}")
    major, minor = match.groups()
    if major != "1":
        raise errors.VersionNotSupported(f"unsupported version {text!r}")
    return "HTTP/1.0" if minor == "0" else "HTTP/1.1"


def split_target(method: str, target: str) -> tuple[str, str, str | None]:
    """Return (path, query, host) for the four target forms of RFC 9112 §3.2."""
    if method == "CONNECT":  # authority-form, and only that (§3.2.3)
        if not AUTHORITY_FORM_RE.fullmatch(target) or not is_authority(target):
            raise errors.InvalidTarget("CONNECT needs a host:port target")
        return "", "", target
    if target[0] == "/":  # origin-form, the usual case
        path, query = split_path(target)
        return path, query, None
    if target == "*":  # asterisk-form, §3.2.4
        if method != "OPTIONS":
            raise errors.InvalidTarget("'*' is only a target for OPTIONS")
        return "*", "", None
    match = ABSOLUTE_FORM_RE.fullmatch(target)  # absolute-form, §3.2.2
    if match is None or not is_authority(match.group(2)):
        raise errors.InvalidTarget(f"invalid request target {target[:80]!r}")
    path, query = split_path(match.group(3) or "")
    return path or "/", query, match.group(2)


def is_authority(authority: str) -> bool:
    """host [":" port] with a host that is not empty (RFC 9110 §4.2.1)."""
    return is_valid_host(authority) and not authority.startswith(":")


def split_path(target: str) -> tuple[str, str]:
    """"/p?q#f" -> ("/p", "q"). A fragment is never the server's (RFC 9110 §7.1)."""
    without_fragment = target.partition("#")[0]
    path, _, query = without_fragment.partition("?")
    return path, query


def split_lines(section: bytes) -> list[str]:
    """A head or trailer section as latin-1 lines, split at CRLF.

    Refuses a CR or LF outside a CRLF (RFC 9112 §2.2), then control
    characters (RFC 9110 §5.5). Line lengths were checked before
    (RequestParser._take_section).
    """
    lines = section.decode("latin-1").split("\r\n")
    # Split at every CRLF, a line holds a CR or an LF only if it was not part
    # of one. Joined, all the lines are searched at once, in C.
    without_crlfs = "".join(lines)
    if "\r" in without_crlfs or "\n" in without_crlfs:
        raise errors.InvalidHeader("line ending is not CRLF (RFC 9112 §2.2)")
    if 0 in section.translate(CONTROL_MARKS):
        raise errors.InvalidHeader("control character in request head (RFC 9110 §5.5)")
    return lines


def parse_fields(lines: list[str]) -> list[tuple[str, str]]:
    """Parse field lines into (UPPER NAME, value) pairs (RFC 9112 §5).

    split_lines has already refused control characters, so each line only
    needs a token before its colon: field-line = field-name ":" OWS value OWS.
    """
    fields = []
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise invalid_field(line)
        upper = CHECKED_NAMES.get(name)
        if upper is None:
            upper = check_name(name, line)
        if upper:  # "" for a name that is dropped
            fields.append((upper, value.strip(" \t")))
    return fields


def check_name(name: str, line: str) -> str:
    """Check a field name; return it upper-cased, or "" if it is to be dropped."""
    if not TOKEN_RE.fullmatch(name):
        raise invalid_field(line)
    # A name with "_" would become the same environ key as one with "-"
    # (HTTP_X_USER); dropping it stops a client from impersonating a
    # header that a proxy in front of us set.
    upper = "" if "_" in name else name.upper()
    if len(CHECKED_NAMES) < MAX_CHECKED_NAMES:
        CHECKED_NAMES[name] = upper
    return upper


def invalid_field(line: str) -> errors.HTTPError:
    """Say precisely why a field line was refused."""
    if line[:1] in (" ", "\t"):
        return errors.ObsoleteFolding("obsolete line folding (RFC 9112 §5.2)")
    return errors.InvalidHeader(f"invalid header line {line[:40]!r}")
