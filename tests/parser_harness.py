"""Drive the request parser the way a worker does, and read the request corpus.

The parser tests share three things: a loop that feeds bytes and drains
events until the parser wants more, a plain summary of what came out (so two
runs can be compared whatever the splits were), and the reader for the case
files in tests/requests/. The file format is described in
tests/requests/README.md.
"""

import ast
import itertools
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from unicorn.http import errors
from unicorn.http.parser import (
    CLOSED,
    NEED_DATA,
    Data,
    EndOfMessage,
    Limits,
    Request,
    RequestParser,
)

CORPUS = Path(__file__).parent / "requests"
# The keys of a request summary; "body", "trailers" and "expect_continue"
# may be left out of an .expect file and then mean b"", [] and False.
SUMMARY_KEYS = ("method", "target", "path", "query", "version", "host", "headers",
                "keep_alive", "expect_continue", "body", "trailers")
OPTIONAL_DEFAULTS = {"body": b"", "trailers": [], "expect_continue": False}
# A parser that keeps answering with events after this many is looping.
MAX_EVENTS = 10_000
# gunicorn's defaults: request line 4094, 100 fields, field line 8190.
DEFAULT_LIMITS = Limits()


@dataclass
class Outcome:
    """Everything the parser said about one byte stream, split-independent."""

    messages: list[dict] = field(default_factory=list)  # complete requests
    partial: dict | None = None  # head of a request whose body never finished
    error: str | None = None  # exception class name
    status: int | None = None
    closed: bool = False  # CLOSED was returned

    def key(self) -> tuple:
        """What must not change when the same bytes arrive in other pieces."""
        return (self.messages, self.partial, self.error, self.status, self.closed)


def summarise(request: Request, body: bytes, trailers: list) -> dict:
    """The fields of a request the corpus states, in plain data."""
    return {
        "method": request.method,
        "target": request.target,
        "path": request.path,
        "query": request.query,
        "version": request.version,
        "host": request.host,
        "headers": [tuple(pair) for pair in request.headers],
        "keep_alive": request.keep_alive,
        "expect_continue": request.expect_continue,
        "body": body,
        "trailers": [tuple(pair) for pair in trailers],
    }


class Driver:
    """Feeds one parser and collects its events into an Outcome.

    After an HTTPError the driver stops, as a worker closes the connection.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.parser = RequestParser(limits)
        self.outcome = Outcome()
        self._request: Request | None = None
        self._body = bytearray()

    @property
    def failed(self) -> bool:
        return self.outcome.error is not None

    def feed(self, data: bytes) -> None:
        """Feed a piece (b"" for end of input) and drain events until NEED_DATA."""
        if self.failed or self.outcome.closed:
            return
        self.parser.feed(data)
        try:
            self._drain()
        except errors.HTTPError as error:
            self.outcome.error = type(error).__name__
            self.outcome.status = error.status
            if self._request is not None:
                self.outcome.partial = summarise(self._request, bytes(self._body), [])

    def _drain(self) -> None:
        for _ in range(MAX_EVENTS):
            event = self.parser.next_event()
            if event is NEED_DATA:
                return
            if event is CLOSED:
                self.outcome.closed = True
                return
            self._record(event)
        raise AssertionError(f"more than {MAX_EVENTS} events without NEED_DATA")

    def _record(self, event) -> None:
        if isinstance(event, Request):
            assert self._request is None, "a Request before the previous EndOfMessage"
            self._request, self._body = event, bytearray()
        elif isinstance(event, Data):
            assert self._request is not None and event.data, "Data outside a message"
            self._body += event.data
        elif isinstance(event, EndOfMessage):
            assert self._request is not None, "EndOfMessage without a Request"
            summary = summarise(self._request, bytes(self._body), event.trailers)
            self.outcome.messages.append(summary)
            self._request = None
        else:
            raise AssertionError(f"unexpected event {event!r}")


def parse(pieces, limits: Limits = DEFAULT_LIMITS, close: bool = True) -> Outcome:
    """Feed the pieces in order, then (if close) the end of input."""
    driver = Driver(limits)
    for piece in pieces:
        if piece:
            driver.feed(piece)
    if close:
        driver.feed(b"")
    return driver.outcome


def whole(raw: bytes) -> list[bytes]:
    return [raw]


def byte_by_byte(raw: bytes) -> list[bytes]:
    return [raw[i:i + 1] for i in range(len(raw))]


def random_pieces(raw: bytes, seed: int, max_pieces: int = 12) -> list[bytes]:
    """Cut raw at a few seeded random places (always the same for a seed)."""
    rng = random.Random(seed)
    count = rng.randint(1, max(1, min(max_pieces, len(raw))))
    cuts = sorted(rng.sample(range(1, len(raw)), min(count, len(raw) - 1))) if len(raw) > 1 else []
    return cut_at(raw, cuts)


def cut_at(raw: bytes, cuts) -> list[bytes]:
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(raw))), len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(bounds)]


def events_after_error(pieces: list[bytes], attempts: int = 20) -> list | None:
    """Ask a failed parser for more events, as a careless caller would.

    Returns the events it hands out after its first HTTPError (None if it
    never raised one); once a request is refused, nothing after it on the
    connection may be parsed.
    """
    parser = RequestParser()
    failed = False
    for piece in [*pieces, b""]:
        parser.feed(piece)
        try:
            while parser.next_event() not in (NEED_DATA, CLOSED):
                pass
        except errors.HTTPError:
            failed = True
            break
    if not failed:
        return None
    later = []
    for _ in range(attempts):
        try:
            event = parser.next_event()
        except errors.HTTPError:
            continue
        if event in (NEED_DATA, CLOSED):
            break
        later.append(event)
    return later


# -- the corpus ---------------------------------------------------------------

ESCAPE_RE = re.compile(r"\\(?:\{(\d+)\*([^}]*)\}|x([0-9A-Fa-f]{2})|(.))", re.S)
SIMPLE_ESCAPES = {"r": "\r", "n": "\n", "t": "\t", "\\": "\\"}


def decode_raw(text: str) -> bytes:
    """Turn the visible notation of a .http file into the bytes it stands for.

    Real newlines in the file are layout only. Every byte that is not
    printable ASCII is written as an escape: \\r \\n \\t \\\\ or \\xNN, and
    \\{N*text} repeats text (itself in this notation) N times.
    """
    return _decode(text.replace("\n", "")).encode("latin-1")


def _decode(text: str) -> str:
    out, position = [], 0
    for match in ESCAPE_RE.finditer(text):
        out.append(_plain(text[position:match.start()]))
        count, repeated, hex_digits, simple = match.groups()
        if count is not None:
            out.append(_decode(repeated) * int(count))
        elif hex_digits is not None:
            out.append(chr(int(hex_digits, 16)))
        elif simple in SIMPLE_ESCAPES:
            out.append(SIMPLE_ESCAPES[simple])
        else:
            raise ValueError(f"unknown escape \\{simple} in a .http file")
        position = match.end()
    out.append(_plain(text[position:]))
    return "".join(out)


def _plain(text: str) -> str:
    if "\\" in text or any(not " " <= c <= "~" for c in text):
        raise ValueError(f"unescaped byte in a .http file: {text!r}")
    return text


@dataclass
class Case:
    name: str  # "valid/001_simple_get"
    raw: bytes
    expect: object  # a list of request summaries, or a dict for an invalid case

    @property
    def valid(self) -> bool:
        return self.name.startswith("valid/")

    def expected_requests(self) -> list[dict]:
        requests = self.expect if self.valid else self.expect.get("before", [])
        return [complete_summary(request) for request in requests]


def complete_summary(request: dict) -> dict:
    """Fill in the optional keys of an .expect request and check the rest."""
    summary = {**OPTIONAL_DEFAULTS, **request}
    summary["headers"] = [tuple(pair) for pair in summary["headers"]]
    summary["trailers"] = [tuple(pair) for pair in summary["trailers"]]
    missing = set(SUMMARY_KEYS) - set(summary)
    unknown = set(summary) - set(SUMMARY_KEYS)
    assert not missing and not unknown, f"bad .expect keys: missing {missing}, unknown {unknown}"
    return {key: summary[key] for key in SUMMARY_KEYS}


def load_cases(kind: str) -> list[Case]:
    """Every case under tests/requests/<kind>/, sorted by file name."""
    cases = []
    for path in sorted((CORPUS / kind).glob("*.http")):
        expect_path = path.with_suffix(".expect")
        expect = ast.literal_eval(expect_path.read_text(encoding="utf-8"))
        raw = decode_raw(path.read_text(encoding="ascii"))
        cases.append(Case(f"{kind}/{path.stem}", raw, expect))
    return cases
