"""Lab 3's parser interface over unicorn's real parser, unicorn/http/parser.py.

unicorn's RequestParser gives events (a request head, pieces of body, the end of the message);
the lab's Parser gives the same facts as three questions: the request line, the header fields,
the whole body. Everything unicorn refuses becomes the lab's ParseError.
"""

from dataclasses import dataclass


class ParseError(Exception):
    """The request is malformed: a server answers 400 (or 501) and closes the connection."""


@dataclass(frozen=True)
class RequestLine:
    method: str
    target: str
    version: str


def unicorn_http():
    """unicorn's parser and errors modules. If a rename in unicorn breaks lab 3, fix this line."""
    from unicorn.http import errors, parser

    return parser, errors


class Parser:
    """The bytes of one request in, in pieces of any size; its request line, fields and body out."""

    def __init__(self) -> None:
        parser, _ = unicorn_http()
        self._parser = parser.RequestParser()
        self._request = None  # unicorn's Request, once the whole head has arrived
        self._body: list[bytes] = []
        self._complete = False

    def feed(self, data: bytes) -> None:
        if data:  # unicorn reads b"" as "the client closed"; the lab never says that
            self._parser.feed(data)

    def request_line(self) -> RequestLine | None:
        request = self._advance()
        if request is None:
            return None
        return RequestLine(request.method, request.target, request.version)

    def headers(self) -> list[tuple[str, str]] | None:
        request = self._advance()
        if request is None:
            return None
        return [(name.lower(), value) for name, value in request.headers]

    def body(self) -> bytes | None:
        self._advance()
        return b"".join(self._body) if self._complete else None

    def _advance(self):
        """Take events until unicorn needs more bytes or the message ends; return the head."""
        parser, errors = unicorn_http()
        while not self._complete:
            try:
                event = self._parser.next_event()
            except errors.HTTPError as error:
                raise ParseError(f"{error.status} {error.reason}: {error}") from error
            if event is parser.NEED_DATA:
                break
            if isinstance(event, parser.Request):
                self._request = event
            elif isinstance(event, parser.Data):
                self._body.append(event.data)
            elif isinstance(event, parser.EndOfMessage):
                self._complete = True  # stop here: later bytes belong to the next request
        return self._request
