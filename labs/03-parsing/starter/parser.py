"""Lab 3: an HTTP/1.1 request parser with no sockets in it (sans-IO).

Bytes go in through feed(), in pieces of any size: the tests cut the same request at random
places. The three questions below are answered from the bytes fed so far. Each returns None
while those bytes are not enough to answer, and raises ParseError as soon as they show that the
request is malformed. Keep the interface (names, arguments, return values); write the bodies.
Read labs/03-parsing/README.md first. Run: python -m unicorn.labs check 3 --part a
"""

from dataclasses import dataclass


class ParseError(Exception):
    """The request is malformed: a server answers 400 and closes the connection."""


@dataclass(frozen=True)
class RequestLine:
    method: str  # "GET"
    target: str  # "/search?q=unicorn", exactly as sent
    version: str  # "HTTP/1.1" or "HTTP/1.0"


class Parser:
    """The bytes of one request in; its request line, header fields and body out."""

    def __init__(self) -> None:
        self.buffer = bytearray()  # every byte fed so far

    def feed(self, data: bytes) -> None:
        """Add bytes received from the client. You may also parse here; you need not."""
        self.buffer += data

    def request_line(self) -> RequestLine | None:
        """The request line (RFC 9112 §3), once all of it and its CRLF have arrived."""
        raise NotImplementedError("Lab 3a: split the first CRLF-terminated line into 3 parts")

    def headers(self) -> list[tuple[str, str]] | None:
        """The header fields in order as (lower-case name, value without surrounding
        whitespace), once the blank line ending the head has arrived (RFC 9112 §5)."""
        raise NotImplementedError("Lab 3b: parse the field lines between the request line "
                                  "and the blank line")

    def body(self) -> bytes | None:
        """The whole body, de-chunked, once all of it has arrived; b"" when there is none
        (RFC 9112 §6). Bytes after the end of the body belong to the next request."""
        raise NotImplementedError("Lab 3c: frame the body by Content-Length or chunked")
